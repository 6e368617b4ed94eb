"""Progress of a long data step: a tqdm bar on a terminal, a few log lines otherwise."""
from __future__ import annotations

import logging
import sys
import time
from typing import Any

log = logging.getLogger("genlab.data")

LOG_EVERY_SECONDS = 10.0


class Progress:
    """Report ``done`` out of ``total`` items; use as a context manager."""

    def __init__(self, label: str, total: int | None, unit: str = "image"):
        self.label, self.total, self.unit = label, total, unit
        self.done = 0
        self._start = time.monotonic()
        self._last_log = self._start
        self._bar: Any = None
        if sys.stderr.isatty():
            from tqdm import tqdm

            self._bar = tqdm(total=total, desc=label, unit=unit, dynamic_ncols=True, leave=False)

    def __enter__(self) -> "Progress":
        return self

    def update(self, done: int) -> None:
        """Set the number of items done so far."""
        if self._bar is not None:
            self._bar.update(done - self.done)
        else:
            now = time.monotonic()
            if now - self._last_log >= LOG_EVERY_SECONDS:
                self._last_log = now
                log.info("%s: %s", self.label, self._status(now))
        self.done = done

    def _status(self, now: float) -> str:
        rate = self.done / max(now - self._start, 1e-9)
        of = f" of {self.total}" if self.total is not None else ""
        return f"{self.done}{of} {self.unit}s ({rate:.0f}/s)"

    def __exit__(self, exc_type: Any, *exc: Any) -> None:
        if self._bar is not None:
            self._bar.close()
        if exc_type is None:
            log.info("%s: done, %s", self.label, self._status(time.monotonic()))
