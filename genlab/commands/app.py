"""What every command shares: turning user errors and stop signals into one line and an exit code."""
from __future__ import annotations

import contextlib
import dataclasses
import logging
import logging.handlers
import os
import re
import signal
import sys
import threading
from typing import Any, Callable, Iterator, NoReturn

from genlab.commands.arguments import hydra_quoted
from genlab.commands.composition_errors import composition_message, searched_dotted_key_message
from genlab.config.checks import unknown_key_message
from genlab.errors import ConfigError, GenlabError, Interrupted
from genlab.files import failed_file

log = logging.getLogger("genlab")

FULL_ERROR_VARIABLE = "HYDRA_FULL_ERROR"


class CommandFailed(SystemExit):
    """The exit of a command that ended with one line: it keeps the error, so that genlab.train()
    in Python raises that error (its class and its message) rather than an exit code."""

    def __init__(self, exit_code: int, error: GenlabError) -> None:
        super().__init__(exit_code)
        self.error = error


def fail(message: str, exit_code: int = 2, error: GenlabError | None = None) -> NoReturn:
    """Print ``genlab: error: message`` on stderr, keep it in the job's log file, and exit.

    ``error`` is what the message says (a ConfigError, a DataError, ...); a GenlabError by default.
    """
    print(f"genlab: error: {message}", file=sys.stderr, flush=True)
    record = log.makeRecord(log.name, logging.ERROR, __file__, 0, message, (), None)
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.FileHandler):
            with contextlib.suppress(OSError):  # the log file may be what could not be written
                handler.handle(record)
    raise CommandFailed(exit_code, error if error is not None else GenlabError(message))


@contextlib.contextmanager
def exit_on_user_error() -> Iterator[None]:
    """A GenlabError ends the command with its message and exit code 2 (or its own), no traceback.

    So does a file the command cannot read or write (permissions, a full disk), whether
    Python or TensorFlow (a checkpoint, a TensorBoard events file) reports it: the message
    names the file.
    """
    try:
        yield
    except GenlabError as error:
        fail(str(error), getattr(error, "exit_code", 2), error)
    except Exception as error:
        failed = failed_file(error)
        if failed is None:
            raise
        fail(file_error_message(failed))


def file_error_message(error: OSError) -> str:
    """``<file>: <why>`` for an OSError naming a file."""
    return f"{error.filename2 or error.filename}: {error.strerror or error}"  # a rename names its target second


# ----------------------------------------------------------------------------- stop signals

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def _raise_interrupted(number: int, frame: Any) -> None:
    raise Interrupted(number)


@contextlib.contextmanager
def stopping_cleanly_on_signals() -> Iterator[None]:
    """SIGINT (Ctrl-C) and SIGTERM end any command with one line and exit code 128 + the signal.

    The signal raises Interrupted wherever the command is, so every ``finally`` on the way
    out runs: atomic writes remove their temporary file, the data cache its ``.part`` file,
    a checkpoint save its ``_temp`` folder, and nothing is left half-written. A second
    signal raises again at once, wherever that cleaning up has got to. Training replaces
    these handlers while it runs its loop, to save a checkpoint first. A signal the
    process was started ignoring (``nohup``, a background job) stays ignored.
    """
    previous = {}
    if threading.current_thread() is threading.main_thread():
        for number in STOP_SIGNALS:
            if signal.getsignal(number) is not signal.SIG_IGN:
                previous[number] = signal.signal(number, _raise_interrupted)
    try:
        yield
    except KeyboardInterrupt as stop:
        number = getattr(stop, "signal_number", signal.SIGINT)
        fail(f"interrupted by {signal.Signals(number).name}; no file was left half-written", 128 + number)
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


class LogFileHandler(logging.FileHandler):
    """A command's log file (train.log) that ends the command, naming the file, when a line cannot be written.

    logging's own handler prints a traceback on stderr for every such line and goes on
    losing them; a full disk is better said once. Only the main thread raises: a line
    logged from another thread is reported the usual way.
    """

    def handleError(self, record: logging.LogRecord) -> None:
        error = sys.exc_info()[1]
        if isinstance(error, OSError) and threading.current_thread() is threading.main_thread():
            if error.filename is None:
                error.filename = self.baseFilename
            raise error
        super().handleError(record)


class HeldLogFile:
    """The job's log file (an existing run's train.log) written only once the job does its work.

    Until ``release()``, what is logged waits in memory; a job that ends before (nothing to
    do, a refused config, a failed start) leaves the file exactly as it was, its error line
    included, which then goes to the console alone.
    """

    CAPACITY = 100_000  # records held at most; preparing a job logs a handful

    def __init__(self) -> None:
        self._root = logging.getLogger()
        self._held: list[tuple[logging.FileHandler, logging.handlers.MemoryHandler]] = []

    def __enter__(self) -> "HeldLogFile":
        for handler in [handler for handler in self._root.handlers if isinstance(handler, logging.FileHandler)]:
            holder = logging.handlers.MemoryHandler(
                self.CAPACITY, flushLevel=logging.CRITICAL + 1, target=handler, flushOnClose=False
            )
            self._root.removeHandler(handler)
            self._root.addHandler(holder)
            self._held.append((handler, holder))
        return self

    def release(self) -> None:
        """Write what was held to the file, and log to it directly from now on."""
        for handler, holder in self._held:
            holder.flush()
            self._root.removeHandler(holder)
            self._root.addHandler(handler)
        self._held = []

    def __exit__(self, *exc: object) -> None:
        for _, holder in self._held:  # not released: the file is left as it was, and gets nothing more
            self._root.removeHandler(holder)
        self._held = []


# ----------------------------------------------------------------------------- Hydra's own errors


def config_error_message(error: BaseException, command: str) -> str:
    """One line for an error Hydra or OmegaConf raised while composing or overriding a config.

    A value that does not fit its key names the key (``n: Value 'abc' ... could not be
    converted to Integer``); an unknown key says which command it is not a key of; an
    override that does not parse quotes it; a missing config option lists the available ones.
    """
    from hydra.errors import OverrideParseException
    from omegaconf.errors import ConfigAttributeError, ConfigKeyError, OmegaConfBaseException

    searched = searched_dotted_key_message(str(error))
    if searched is not None:
        return searched
    cause = error if isinstance(error, OmegaConfBaseException) else error.__cause__
    key = getattr(cause, "full_key", None) if isinstance(cause, OmegaConfBaseException) else None
    if key:
        if isinstance(cause, (ConfigAttributeError, ConfigKeyError)):
            schema = getattr(cause, "object_type", None)
            names = [item.name for item in dataclasses.fields(schema)] if dataclasses.is_dataclass(schema) else None
            return unknown_key_message(str(key), command, names)
        reason = _lines(str(cause))[0]
        if "is not Optional" in reason:
            reason = "must not be null"
        return f"{key}: {reason}"
    translated = composition_message(str(error), command)
    if translated is not None:
        return translated
    lines = _lines(str(error))
    if isinstance(error, OverrideParseException):
        reasons = [line for line in lines if not line.startswith("Error parsing override")] or lines
        return f"cannot parse the override {error.override!r}: {'; '.join(reasons)} ({how_to_quote(error.override)})"
    return _one_line(lines)


def how_to_quote(override: str) -> str:
    """How to give an override Hydra cannot parse: its value in Hydra's quotes, the whole in the shell's."""
    key, separator, value = override.partition("=")
    if not separator:
        return "overrides are key=value"
    argument = f"{key}={hydra_quoted(value, literal=False)}"
    return 'to give it as a string, quote it: "' + re.sub(r'([\\"$`])', r"\\\1", argument) + '"'


def _lines(text: str) -> list[str]:
    """The message's lines without blanks, Hydra's search path and its pointers to documentation."""
    lines = []
    for line in text.splitlines():
        if line.strip().startswith("Config search path"):
            break
        if line.strip() and not line.strip().startswith(("See https://", "full_key:", "object_type", "reference_type")):
            lines.append(line)
    return lines or [text.strip() or "invalid config"]


def _one_line(lines: list[str]) -> str:
    """Indented lines (Hydra's lists of options) joined with commas to the line before them."""
    parts: list[str] = []
    for line in lines:
        if line.startswith(("\t", " ")) and parts:
            separator = " " if parts[-1].endswith(":") else ", "
            parts[-1] += separator + line.strip()
        else:
            parts.append(line.strip().rstrip("."))
    return "; ".join(parts)


@contextlib.contextmanager
def clean_config_errors(command: str) -> Iterator[None]:
    """Hydra's composition errors (a wrong type, an unknown key, an override that does not parse)
    end the command like any other user error: ``genlab: error: <key>: <why>``, exit code 2.

    Hydra prints its own report of several lines and exits with 1, unless HYDRA_FULL_ERROR=1
    asks it to raise; it is set for the duration so the error can be caught here. A user who
    set HYDRA_FULL_ERROR=1 keeps Hydra's full traceback.
    """
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    if os.environ.get(FULL_ERROR_VARIABLE) == "1":
        yield
        return
    os.environ[FULL_ERROR_VARIABLE] = "1"
    try:
        yield
    except (HydraException, OmegaConfBaseException) as error:
        message = config_error_message(error, command)
        fail(message, error=ConfigError(message))
    except BrokenPipeError:  # `genlab ... --help | head`: the reader is gone, nothing more to say
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        sys.exit(1)
    finally:
        os.environ.pop(FULL_ERROR_VARIABLE, None)


def hydra_command(command: str, app: Callable[[], None]) -> Callable[[], None]:
    """The ``main`` of a command whose Hydra app is ``app``, with Hydra's errors made one line."""

    def main() -> None:
        with clean_config_errors(command):
            app()

    return main


