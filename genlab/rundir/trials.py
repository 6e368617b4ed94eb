"""What a search leaves on disk: ``<sweep dir>/trials.csv``, one row per finished trial (what
`genlab report` lists), and ``<run dir>/objective.json``, the objective of that run.

Trials of a parallel launcher finish in any order, some at the same moment: each rewrites the
table whole while it holds a lock on the sweep directory, and atomically, so a reader sees the table with
or without its row, never half of it. A run evaluated again replaces its row.
"""
from __future__ import annotations

import contextlib
import csv
import fcntl
import io
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from genlab.errors import GenlabError
from genlab.files import write_text_atomically

TRIALS_FILE = "trials.csv"
OBJECTIVE_FILE = "objective.json"
COLUMNS = ("number", "value", "objective", "direction", "state", "run")  # then one per searched parameter
COMPLETE, FAIL = "COMPLETE", "FAIL"


@dataclass(frozen=True)
class Trial:
    number: int  # the job's number in the sweep (hydra.job.num)
    value: float | None  # the objective's value; None for a failed trial
    objective: str  # the metric's name
    direction: str  # minimize, maximize, or "" when the sweeper does not say
    state: str  # COMPLETE or FAIL
    run: str  # the trial's run directory, relative to the sweep directory
    params: dict[str, str] = field(default_factory=dict)  # searched key -> the value the trial had

    def row(self) -> dict[str, str]:
        fixed = [str(self.number), "" if self.value is None else repr(self.value), self.objective, self.direction]
        return {**dict(zip(COLUMNS, [*fixed, self.state, self.run])), **self.params}


@contextlib.contextmanager
def _locked(directory: Path) -> Iterator[None]:
    """An exclusive lock on ``directory`` while the block runs (a lock file would be left behind)."""
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)  # closing releases the lock


def read_trials(sweep_dir: Path) -> list[dict[str, str]]:
    """The rows of ``sweep_dir``'s trials.csv, by column name ([] when there is none); a GenlabError
    naming the file when it is not UTF-8 CSV whose rows fit its header (a row with more cells than
    the header has columns cannot be told apart)."""
    path = sweep_dir / TRIALS_FILE
    try:
        with open(path, newline="", encoding="utf-8") as table:
            reader = csv.DictReader(table)
            rows = list(reader)
            columns = reader.fieldnames  # read from the file: None when it is empty
    except FileNotFoundError:
        return []
    except UnicodeDecodeError:
        raise GenlabError(f"{path}: not UTF-8 text") from None
    except csv.Error as error:
        raise GenlabError(f"{path}: not a CSV table ({error})") from None
    except OSError as error:
        raise GenlabError(f"cannot read {path}: {error.strerror or error}") from None
    if columns is None:  # record_trial always writes the header
        raise GenlabError(f"{path}: empty")
    for number, row in enumerate(rows, 1):
        if None in row:  # csv.DictReader's key for the cells past the header's columns
            raise GenlabError(f"{path}: row {number} has more cells than the header's {len(columns)} columns")
    return rows


def record_trial(sweep_dir: Path, trial: Trial) -> Path:
    """Add ``trial``'s row to ``sweep_dir``/trials.csv, replacing an earlier row of the same run."""
    sweep_dir.mkdir(parents=True, exist_ok=True)
    with _locked(sweep_dir):
        rows = [row for row in read_trials(sweep_dir) if row.get("run") != trial.run] + [trial.row()]
        rows.sort(key=lambda row: int(row["number"]) if row.get("number", "").isdigit() else -1)
        columns = list(COLUMNS)
        for row in rows:
            columns += [key for key in row if key not in columns]
        text = io.StringIO()
        writer = csv.DictWriter(text, fieldnames=columns, restval="", lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        return write_text_atomically(sweep_dir / TRIALS_FILE, text.getvalue())


def save_objective(run_dir: Path, objective: str, value: float, direction: str) -> Path:
    """``run_dir``/objective.json: the metric, its value, and the direction the search optimizes it in."""
    data = {"objective": objective, "value": value, "direction": direction or None}
    return write_text_atomically(run_dir / OBJECTIVE_FILE, json.dumps(data, indent=2) + "\n")
