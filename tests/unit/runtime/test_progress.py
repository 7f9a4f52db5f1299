"""The progress bar long commands write on stderr: bars, counts without a total, details, and
nothing at all when disabled."""

from __future__ import annotations

import io

from mitl_runtime.progress import Progress


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_writes_lines_to_its_stream_only_when_enabled() -> None:
    stream = io.StringIO()
    report = Progress(stream).phase("seed 0 loop", "items")
    report(0, 10)
    report(10, 10)
    lines = stream.getvalue().splitlines()
    assert lines[0].startswith("seed 0 loop [....................] 0/10 items")
    assert lines[-1].startswith("seed 0 loop [####################] 10/10 items")
    quiet = io.StringIO()
    Progress(quiet, enabled=False).phase("x", "items")(10, 10)
    Progress(quiet, enabled=False).note("nothing")
    assert quiet.getvalue() == ""


def test_an_unknown_total_shows_the_count_and_a_detail_rides_along() -> None:
    stream = io.StringIO()
    report = Progress(stream).phase("export d", "items")
    report(5000, None, final=True)
    Progress(stream).phase("f.csv", "records")(33, 33, "30 new, 3 rejected")
    first, second = stream.getvalue().splitlines()
    assert first.startswith("export d 5,000 items 0:0")
    assert second.startswith("f.csv [####################] 33/33 records (30 new, 3 rejected)")


def test_on_a_terminal_one_line_is_redrawn_and_close_ends_it() -> None:
    terminal = Terminal()
    bar = Progress(terminal)
    report = bar.phase("burst: decided", "items")
    report(0, 4)
    assert terminal.getvalue().startswith("\r\x1b[2Kburst: decided [")
    assert not terminal.getvalue().endswith("\n")
    bar.note("a note goes below the bar")
    assert terminal.getvalue().endswith("\na note goes below the bar\n")
    report(4, 4)
    assert terminal.getvalue().endswith("4/4 items 0:00\n")
    stopped = Terminal()
    short = Progress(stopped)
    short.phase("kill-broker: sent", "items")(1, 4)
    assert not stopped.getvalue().endswith("\n")
    short.close()
    assert stopped.getvalue().endswith("1/4 items 0:00\n")
    # More done than the total (a duplicate counted twice) never overflows the bar.
    plain = io.StringIO()
    Progress(plain).phase("x", "items")(12, 10)
    assert plain.getvalue().startswith("x [####################] 12/10")


def test_a_finished_phase_reported_again_writes_nothing_more() -> None:
    """A wait that polls (chaos: items settled) keeps reporting everything done until the
    platform is quiet: one closing line, not one per poll."""
    stream = io.StringIO()
    report = Progress(stream).phase("kill-broker: settled", "items")
    report(300, 300)
    report(300, 300)
    report(300, 300)
    assert len(stream.getvalue().splitlines()) == 1
    report(5, None, final=True)
    report(5, None, final=True)
    assert len(stream.getvalue().splitlines()) == 2
