"""A progress line on stderr for long work (walks of big hives, big imports and exports).

Shown only when stderr is a terminal, and only once the work has taken more than a second, so
quick commands and anything piped or captured (scripts, tests, CI logs) never see it. The line is
redrawn at most ten times a second and erased when the work ends.
"""

from __future__ import annotations

import sys
import time

TYPE_CHECKING = False
if TYPE_CHECKING:
    from types import TracebackType
    from typing import TextIO


class Progress:
    """``with Progress("exporting", "keys") as p: ... p(done)`` -- also usable as a plain
    callback (``progress=p``) by library functions that report a count now and then."""

    def __init__(self, label: str, unit: str = "keys", *, total: int | None = None,
                 delay: float = 1.0, stream: TextIO | None = None) -> None:
        self.label = label
        self.unit = unit
        self.total = total
        self.stream = stream if stream is not None else sys.stderr
        try:
            self.enabled = bool(self.stream.isatty())
        except (AttributeError, ValueError):  # a closed or odd stream: no progress
            self.enabled = False
        self._start = time.monotonic()
        self._delay = delay
        self._last = 0.0
        self._shown = False

    def __call__(self, done: int) -> None:
        self.update(done)

    def update(self, done: int) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self._start < self._delay or now - self._last < 0.1:
            return
        self._last = now
        if self.total:
            text = f"{self.label}: {done:,}/{self.total:,} {self.unit} " \
                   f"({100 * done // self.total}%)"
        else:
            text = f"{self.label}: {done:,} {self.unit}"
        self.stream.write("\r" + text + "\x1b[K")
        self.stream.flush()
        self._shown = True

    def close(self) -> None:
        if self._shown:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self._shown = False

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
