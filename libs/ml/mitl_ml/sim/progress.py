"""A progress bar on stderr for `mitl simulate` (stdout stays the results, --json clean).

On a terminal one line is redrawn in place, at most every REDRAW seconds:

    seed 0 loop [#########...........]  6,512/14,762 items  0:41

Elsewhere (a log file, CI) a plain line is written at most every LINE_EVERY seconds and when
a phase ends, so a long run still shows it is alive without flooding the log.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO

WIDTH = 20
REDRAW = 0.2
LINE_EVERY = 10.0


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes}:{secs:02d}"


class Progress:
    """`phase(name, unit)` returns the callback a simulation phase reports (done, total) to."""

    def __init__(self, stream: TextIO | None = None, *, enabled: bool = True) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = enabled
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.started = time.monotonic()
        self._last = 0.0
        self._open = False

    def phase(self, name: str, unit: str) -> Callable[[int, int], None]:
        def report(done: int, total: int) -> None:
            self._report(name, unit, done, total)

        return report

    def _report(self, name: str, unit: str, done: int, total: int) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        finished = done >= total
        if not finished and now - self._last < (REDRAW if self.tty else LINE_EVERY):
            return
        self._last = now
        filled = WIDTH * done // total if total else WIDTH
        bar = "#" * filled + "." * (WIDTH - filled)
        line = f"{name} [{bar}] {done:,}/{total:,} {unit} {_clock(now - self.started)}"
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
