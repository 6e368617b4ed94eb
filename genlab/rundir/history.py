"""A run's history.jsonl read back: one record per logged step, ``{"step": int, name: number, ...}``.

The trainer appends one JSON object per line. A line can be cut short by a kill, and a run
directory from elsewhere may hold anything, so each line is read on its own: lines that are not
UTF-8, not JSON, not an object or without an integer step are left out, and a warning names the
file and how many.
"""
from __future__ import annotations

import json
import logging
from pathlib import Path

from genlab.rundir.layout import HISTORY_FILE

log = logging.getLogger("genlab.rundir")


def history_record(line: bytes) -> dict[str, float] | None:
    """One line's record (its numbers by name, ``step`` an integer), or None for a line that is not one."""
    try:
        entry = json.loads(line.decode("utf-8"))
    except ValueError:  # UnicodeDecodeError and JSONDecodeError alike
        return None
    if not isinstance(entry, dict) or isinstance(entry.get("step"), bool) or not isinstance(entry.get("step"), int):
        return None
    # other values that are not numbers (none the trainer writes) are not curves: dropped
    return {key: value for key, value in entry.items() if isinstance(value, (int, float)) and not isinstance(value, bool)}


def history_records(run_dir: Path) -> list[dict[str, float]]:
    """The run's logged records in file order ([] when it has none)."""
    path = run_dir / HISTORY_FILE
    try:
        lines = [line for line in path.read_bytes().splitlines() if line.strip()]
    except FileNotFoundError:
        return []
    except OSError as error:
        log.warning("%s: cannot be read (%s); no training metrics from it", path, error.strerror or error)
        return []
    records = [history_record(line) for line in lines]
    kept = [record for record in records if record is not None]
    if len(kept) < len(records):
        log.warning("%s: %d of %d lines are not records of a step (cut short or damaged); left out", path, len(records) - len(kept), len(records))
    return kept
