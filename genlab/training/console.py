"""Training progress: a live bar on a terminal, log lines otherwise (and always in the log file)."""
from __future__ import annotations

import logging
import sys

from tqdm import tqdm

log = logging.getLogger("genlab.train")


class _NotOnConsole(logging.Filter):
    """Keeps progress lines off the console while the bar shows the same numbers."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not getattr(record, "progress", False)


def format_metrics(metrics: dict[str, float]) -> str:
    return " ".join(f"{name}={value:.4g}" for name, value in metrics.items())


class ProgressReporter:
    def __init__(self, total_steps: int, start_step: int, interactive: bool | None = None):
        self.interactive = sys.stderr.isatty() if interactive is None else interactive
        self.bar = None
        self._console_filter = _NotOnConsole()
        self._filtered: list[logging.Handler] = []
        if self.interactive:
            self.bar = tqdm(total=total_steps, initial=start_step, unit="step", dynamic_ncols=True, file=sys.stderr)
            for handler in logging.getLogger().handlers:
                if isinstance(handler, logging.StreamHandler) and not isinstance(handler, logging.FileHandler):
                    handler.addFilter(self._console_filter)
                    self._filtered.append(handler)

    def advance(self, step: int, steps_done: int, images_per_second: float, metrics: dict[str, float]) -> None:
        if self.bar is not None:
            self.bar.update(steps_done)
            self.bar.set_postfix_str(f"{images_per_second:,.0f} img/s {format_metrics(metrics)}", refresh=True)

    def log(self, step: int, total_steps: int, images_per_second: float, metrics: dict[str, float]) -> None:
        log.info(
            "step %d/%d  %.0f img/s  %s",
            step,
            total_steps,
            images_per_second,
            format_metrics(metrics),
            extra={"progress": True},
        )

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
        for handler in self._filtered:
            handler.removeFilter(self._console_filter)
