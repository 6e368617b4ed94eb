"""What every command shares: turning user errors into one line and an exit code."""
from __future__ import annotations

import contextlib
import logging
import sys
from typing import Iterator, NoReturn

from genlab.errors import GenlabError

log = logging.getLogger("genlab")


def fail(message: str, exit_code: int = 2) -> NoReturn:
    """Print ``genlab: error: message`` on stderr, keep it in the job's log file, and exit."""
    print(f"genlab: error: {message}", file=sys.stderr, flush=True)
    record = log.makeRecord(log.name, logging.ERROR, __file__, 0, message, (), None)
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.FileHandler):
            handler.handle(record)
    sys.exit(exit_code)


@contextlib.contextmanager
def exit_on_user_error() -> Iterator[None]:
    """A GenlabError ends the command with its message and exit code 2 (or its own), no traceback."""
    try:
        yield
    except GenlabError as error:
        fail(str(error), getattr(error, "exit_code", 2))
