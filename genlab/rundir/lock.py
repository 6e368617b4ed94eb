"""Only one process trains into a run directory at a time."""
from __future__ import annotations

import os
from pathlib import Path

from genlab.errors import GenlabError
from genlab.rundir.layout import LOCK_FILE


class RunLock:
    """Only one process trains into a run directory: a lock file holding its process id.

    A lock left by a process that no longer exists is taken over.
    """

    def __init__(self, run_dir: Path):
        self.path = run_dir / LOCK_FILE
        self.held = False

    def __enter__(self) -> "RunLock":
        for _ in range(3):
            try:
                descriptor = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                owner = self._owner()
                if owner is not None and owner != os.getpid() and _process_exists(owner):
                    raise GenlabError(
                        f"{self.path.parent} is being trained by process {owner} (lock file {self.path}); "
                        "wait for it to finish or stop it first"
                    ) from None
                self.path.unlink(missing_ok=True)  # stale: its process is gone
                continue
            with os.fdopen(descriptor, "w") as lock:
                lock.write(f"{os.getpid()}\n")
            self.held = True
            return self
        raise GenlabError(f"could not take the lock file {self.path}")

    def _owner(self) -> int | None:
        try:
            return int(self.path.read_text().strip())
        except (OSError, ValueError):
            return None

    def __exit__(self, *exc: object) -> None:
        if self.held and self._owner() == os.getpid():
            self.path.unlink(missing_ok=True)
        self.held = False


def _process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True
