"""A progress bar on stderr for long commands (`mitl simulate`, `chaos`, `bench`, `import`,
`export`); stdout stays the results, so `--json` output is clean.

On a terminal one line is redrawn in place, at most every REDRAW seconds:

    seed 0 loop [#########...........]  6,512/14,762 items  0:41

With no known total there is no bar, only the count (`export [...] 12,000 items 0:03`).
Elsewhere (a log file, CI) a plain line is written at most every LINE_EVERY seconds and when
a phase ends, so a long run still shows it is alive without flooding the log.
"""

from __future__ import annotations

import sys
import time
from typing import Protocol, TextIO

WIDTH = 20
REDRAW = 0.2
LINE_EVERY = 10.0


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes}:{secs:02d}"


class Report(Protocol):
    """What a phase is told: how much is done of how much (None: unknown), and optionally a
    few words more (e.g. "3 rejected"). `final` closes the phase's line."""

    def __call__(
        self, done: int, total: int | None, detail: str = "", *, final: bool = False
    ) -> None: ...


class Progress:
    """`phase(name, unit)` returns the callback a phase of a long command reports to."""

    def __init__(self, stream: TextIO | None = None, *, enabled: bool = True) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = enabled
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.started = time.monotonic()
        self._last = 0.0
        self._open = False

    def phase(self, name: str, unit: str) -> Report:
        """A phase's line ends once it is finished (done reached total, or `final`); the same
        finished state reported again (a poll that keeps seeing everything done) writes
        nothing more, and a report short of it opens the line again."""
        shown: list[tuple[int, int | None]] = []

        def report(done: int, total: int | None, detail: str = "", *, final: bool = False) -> None:
            finished = final or (total is not None and done >= total)
            if finished and shown == [(done, total)]:
                return
            shown[:] = [(done, total)] if finished else []
            self._report(name, unit, done, total, detail, finished)

        return report

    def _report(
        self, name: str, unit: str, done: int, total: int | None, detail: str, finished: bool
    ) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if not finished and now - self._last < (REDRAW if self.tty else LINE_EVERY):
            return
        self._last = now
        if total is None:
            count = f"{done:,} {unit}"
        else:
            filled = min(WIDTH, WIDTH * done // total) if total else WIDTH
            count = f"[{'#' * filled}{'.' * (WIDTH - filled)}] {done:,}/{total:,} {unit}"
        more = f" ({detail})" if detail else ""
        line = f"{name} {count}{more} {_clock(now - self.started)}"
        if self.tty:
            self.stream.write(f"\r\x1b[2K{line}")
            self._open = True
            if finished:
                self.stream.write("\n")
                self._open = False
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def note(self, message: str) -> None:
        """A line of its own (e.g. "embedding 14,762 texts"), below any bar in progress."""
        if not self.enabled:
            return
        prefix = "\n" if self._open else ""
        self._open = False
        self.stream.write(f"{prefix}{message}\n")
        self.stream.flush()

    def close(self) -> None:
        """End a line left open (a phase that stopped short, e.g. on an error)."""
        if self._open:
            self.stream.write("\n")
            self.stream.flush()
            self._open = False
