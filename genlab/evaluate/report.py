"""`genlab report DIR`: one row per run directory under DIR, and their sample grids side by side.

Columns: the run (its path under DIR), the overrides that differ between the runs (read from each
run's .hydra/overrides.yaml), the step of its latest checkpoint, the last logged training metrics
(history.jsonl, as train_*), then the `genlab evaluate` metrics from its metrics.json. Runs whose
metrics.json is missing, older than their latest checkpoint or computed with other settings are
evaluated first (``evaluate=false`` skips that). Images made elsewhere and scored with
`genlab evaluate samples=PATH` add a row each when their scores lie under DIR.

Runs that differ only in ``seed`` form a group (genlab.evaluate.seed_groups): the report gives each
group's mean, standard deviation and number of seeds per metric (report_groups.csv), and names the
best group only where the difference exceeds the spread. curves.png draws every run's training
curves; an Optuna search's trials.csv in DIR becomes a table of its trials.

The contact sheet shows, for every run, the grid `genlab sample checkpoint=RUN n=<samples> seed=<seed>`
writes (the same codes for every run of one latent size), titled with the run's varying overrides.
Everything but the evaluation and the sampling is plain Python, numpy and matplotlib.
"""
from __future__ import annotations

import csv
import logging
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence, TypeVar

import numpy as np

from genlab import rundir
from genlab.config.metrics import LABELS
from genlab.config.render import PRECISE_BN_IMAGES
from genlab.errors import ConfigError, GenlabError
from genlab.evaluate.curves import curves_figure, history_curves
from genlab.evaluate.evaluator import is_current, metrics_path
from genlab.evaluate.metrics_files import load_metrics_file
from genlab.evaluate.external_samples import ARRAY_SUFFIXES, find_scores, preview
from genlab.evaluate.seed_groups import SeedGroup, Summary, better_direction, by_data, clear_best, group_runs
from genlab.files import atomic_path, write_text_atomically
from genlab.rundir.history import history_records
from genlab.rundir.trials import COLUMNS as TRIAL_FIELDS, COMPLETE, TRIALS_FILE, read_trials
from genlab.render.grid import save_png, tile

log = logging.getLogger("genlab.report")

REPORT_MD = "report.md"
REPORT_CSV = "report.csv"
GROUPS_CSV = "report_groups.csv"
CONTACT_SHEET = "contact_sheet.png"
CURVES = "curves.png"
MAX_SIDE_BY_SIDE = 6  # runs in one row of the contact sheet when columns is not set
HISTORY_KEYS_LEFT_OUT = ("step", "images_per_second")
BLANK_TILE = (8, 8, 1)  # the tile of a run or images whose own size cannot be read


@dataclass
class RunRow:
    run_dir: Path
    name: str  # its path relative to the report's directory
    overrides: dict[str, str]
    step: int | None = None
    training: dict[str, float] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    evaluated_step: int | None = None
    title: str = ""
    samples: Path | None = None  # images made elsewhere (no run): where they are
    records: list[dict[str, float]] = field(default_factory=list)  # its history.jsonl
    notes: list[str] = field(default_factory=list)  # its metrics.json's
    data: str = ""  # what its metrics were measured on, e.g. "fashion_mnist 32x32x1" ("" before evaluation)


# ----------------------------------------------------------------------------- reading runs


def find_runs(directory: Path) -> list[Path]:
    """Every run directory (holding .hydra/config.yaml) at or below ``directory``."""
    return sorted({path.parent.parent for path in directory.rglob("config.yaml") if path.parent.name == ".hydra"})


def parse_overrides(lines: Sequence[str]) -> dict[str, str]:
    """``key=value`` overrides as {key: value text}, by Hydra's own parser (a GenlabError when one is not)."""
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import HydraException

    try:
        parsed = OverridesParser.create().parse_overrides(list(lines))
    except HydraException as error:
        raise GenlabError(f"not key=value overrides ({' '.join(str(error).split())[:120]})") from None
    return {
        override.get_key_element(): value if isinstance(value := override.value(), str) else override.get_value_element_as_str()
        for override in parsed
    }


def last_training_metrics(records: Sequence[dict[str, float]]) -> dict[str, float]:
    """The last record of history.jsonl (genlab.rundir.history), without its step and throughput."""
    last = records[-1] if records else {}
    return {f"train_{key}": float(value) for key, value in last.items() if key not in HISTORY_KEYS_LEFT_OUT}


T = TypeVar("T")


def or_left_out(read: Callable[[], T], default: T, notes: list[str]) -> T:
    """What ``read`` gives, or ``default`` when the file it reads is malformed: one file does not stop
    the report; the warning and the report's notes name the file (each reader's GenlabError does)."""
    try:
        return read()
    except GenlabError as error:
        log.warning("%s; left out of the report", error)
        notes.append(f"{error}; left out")
        return default


def run_overrides(run_dir: Path) -> dict[str, str]:
    """The overrides a run was started with, by key (a GenlabError naming the file when malformed)."""
    try:
        return parse_overrides(rundir.load_overrides(run_dir))
    except GenlabError as error:
        path = run_dir / rundir.OVERRIDES_FILE
        raise GenlabError(str(error) if str(path) in str(error) else f"{path}: {error}") from None


def varying_keys(overrides: Sequence[dict[str, str]]) -> list[str]:
    """Override keys whose value (or presence) differs between the runs, in order of first appearance."""
    keys = list(dict.fromkeys(key for entry in overrides for key in entry))
    return [key for key in keys if len({entry.get(key) for entry in overrides}) > 1]


def natural(value: str | None) -> tuple:
    """Sort key: numbers by value (beta=4 before beta=16), then text."""
    if value is None:
        return (2, 0.0, "")
    try:
        return (0, float(value), "")
    except ValueError:
        return (1, 0.0, value)


def read_rows(directory: Path, runs: Sequence[Path], notes: list[str]) -> list[RunRow]:
    """A row per run; a malformed file of a run leaves its part of the row empty, with a note."""
    rows = [
        RunRow(run_dir, str(run_dir.relative_to(directory)) or ".", or_left_out(lambda: run_overrides(run_dir), {}, notes))
        for run_dir in runs
    ]
    varying = varying_keys([row.overrides for row in rows])
    for row in rows:
        row.step = rundir.latest_checkpoint_step(row.run_dir)
        row.records = history_records(row.run_dir)
        row.training = last_training_metrics(row.records)
        path = metrics_path(row.run_dir)
        saved = or_left_out(lambda: load_metrics_file(path), None, notes) if path.exists() else None
        if saved is not None:
            row.metrics = {key: float(value) for key, value in saved["metrics"].items()}
            row.evaluated_step = saved.get("step")
            row.notes = list(saved.get("notes") or [])
            row.data = measured_on(saved, notes, row.run_dir)
        row.title = ", ".join(f"{key}={row.overrides[key]}" for key in varying if key in row.overrides) or row.name
    rows.sort(key=lambda row: (tuple(natural(row.overrides.get(key)) for key in varying), row.name))
    return rows


def read_scored_samples(directory: Path, settings: dict, notes: list[str]) -> list[RunRow]:
    """A row for each set of images made elsewhere whose scores (`genlab evaluate samples=`) lie under ``directory``."""
    rows = []
    for path in find_scores(directory):
        data = or_left_out(lambda: load_metrics_file(path, scores=True), None, notes)
        if data is None:
            continue
        source = scored_images(path, Path(data["samples"]))
        try:
            name = str(source.relative_to(directory))
        except ValueError:
            name = str(source)
        metrics = {key: float(value) for key, value in data["metrics"].items()}
        rows.append(
            RunRow(path.parent, name, {}, metrics=metrics, title=f"{name} (images made elsewhere)", samples=source,
                   data=measured_on(data, notes))
        )
        if data.get("settings") != settings:
            saved = data.get("settings") or {}
            changed = sorted(key for key in settings if key not in saved or saved[key] != settings[key])
            notes.append(
                f"{name}: scored with other settings ({', '.join(changed)} differ); score again with "
                f"genlab evaluate samples={source} and this report's settings to compare"
            )
    return rows


def measured_on(saved: dict, notes: list[str], run_dir: Path | None = None) -> str:
    """The data set and image size a metrics.json was computed on ("fashion_mnist 32x32x1"); a run's
    image size is also in its run_info.json (for metrics written before they named it)."""
    shape = saved.get("image_shape") or []
    if not shape and run_dir is not None:
        shape = or_left_out(lambda: rundir.load_run_info(run_dir)["image_shape"], [], notes)
    # samples drawn with other than the model's default sampling keys (temperature, steps, ...) are
    # another measurement: never ranked with the default ones
    sampler = ", ".join(f"{key}={value}" for key, value in sorted((saved.get("sampling_not_default") or {}).items()))
    parts = (str(saved.get("dataset", "")), "x".join(map(str, shape)), f"sampled with {sampler}" if sampler else "")
    return " ".join(part for part in parts if part)


def scored_images(scores: Path, recorded: Path) -> Path:
    """The images a scores file is of: the folder holding a metrics.json, or the array beside a
    <stem>.metrics.json (both moved with their scores), else where they were when scored."""
    if scores.name == "metrics.json":
        return scores.parent
    stem = scores.name.removesuffix(".metrics.json")
    beside = [scores.with_name(f"{stem}{suffix}") for suffix in ARRAY_SUFFIXES]
    return next((path for path in beside if path.is_file()), recorded)


# ----------------------------------------------------------------------------- the table


def table(rows: Sequence[RunRow]) -> tuple[list[str], list[list[Any]]]:
    """Column names and one list of values per run (None where a run has no value)."""
    varying = varying_keys([row.overrides for row in rows if row.samples is None])
    training = list(dict.fromkeys(key for row in rows for key in row.training))
    present = {key for row in rows for key in row.metrics}
    metrics = [key for key in LABELS if key in present] + sorted(present - set(LABELS))
    data = ["data"] if len({row.data for row in rows}) > 1 else []  # numbers of other data do not compare
    columns = ["run", *varying, *data, "steps", *training, *metrics]
    values = [
        [row.name, *(row.overrides.get(key) for key in varying), *([row.data] if data else []), row.step,
         *(row.training.get(key) for key in training), *(row.metrics.get(key) for key in metrics)]
        for row in rows
    ]
    return columns, values


def _cell(value: Any, column: str) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        if column in LABELS:
            return LABELS[column][1].format(value)
        return f"{value:.4g}"
    return str(value)


def text_table(columns: Sequence[str], rows: Sequence[Sequence[str]], numbers: bool = True) -> list[str]:
    """The lines of a GitHub table of text cells ('|' escaped); with ``numbers``, every column but the
    first is right-aligned."""

    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |"

    rule = "|" + "|".join("---:" if numbers and index else "---" for index in range(len(columns))) + "|"
    return [line(columns), rule, *(line(row) for row in rows)]


def markdown_table(columns: Sequence[str], values: Sequence[Sequence[Any]]) -> str:
    """A GitHub table; the run column holds a numbered link to the run directory (its name can be long)."""
    linked = [[f"[{number}](<{row[0]}>)", *row[1:]] for number, row in enumerate(values, 1)]
    return "\n".join(text_table(columns, [[_cell(value, column) for value, column in zip(row, columns)] for row in linked]))


def write_csv(path: Path, columns: Sequence[str], values: Sequence[Sequence[Any]]) -> Path:
    with atomic_path(path) as temporary, open(temporary, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        writer.writerows([["" if value is None else value for value in row] for row in values])
    return path


def write_markdown(
    path: Path,
    directory: Path,
    columns: Sequence[str],
    values: Sequence[Sequence[Any]],
    settings: dict,
    notes: Sequence[str],
    sheet: bool,
    sections: Sequence[str] = (),
    curves: bool = False,
) -> Path:
    described = ", ".join(f"{key}={value}" for key, value in settings.items())
    text = [
        f"# genlab report: {directory}",
        "",
        f"{len(values)} runs. Columns: the overrides that differ between the runs, the step of the latest "
        "checkpoint, the last logged training metrics (train_*), then the metrics of `genlab evaluate` "
        f"({described}).",
        "",
        markdown_table(columns, values),
        "",
    ]
    text += list(sections)
    if sheet:
        text += [f"![samples of every run, same seed]({CONTACT_SHEET})", ""]
    if curves:
        text += [f"![training curves of every run]({CURVES})", ""]
    if notes:
        text += ["Notes:", "", *(f"- {note}" for note in notes), ""]
    return write_text_atomically(path, "\n".join(text))


# ----------------------------------------------------------------------------- seed groups


def seed_groups(rows: Sequence[RunRow]) -> list[SeedGroup]:
    """The runs (and each set of images made elsewhere, alone) grouped by their overrides but the seed."""
    overrides = [row.overrides if row.samples is None else {"samples": row.name} for row in rows]
    values = [{**row.training, **row.metrics} for row in rows]
    varying = varying_keys([row.overrides for row in rows if row.samples is None])
    groups = group_runs([row.name for row in rows], overrides, values, [*varying, "samples"])
    data_of = {row.name: row.data for row in rows}
    for group in groups:
        group.data = data_of[group.members[0]]
    return groups


def _summary_cell(found: Summary | None, metric: str, size: int) -> str:
    if found is None:
        return ""
    text = _cell(found.mean, metric) + ("" if found.std is None else f" ± {_cell(found.std, metric)}")
    return text if found.n == size else f"{text} (n={found.n})"


def groups_section(groups: Sequence[SeedGroup], metrics: Sequence[str]) -> list[str]:
    """report.md's table of seed groups, and which group is best per metric where that is clear."""
    columns = ["group", "seeds", *metrics]
    lines = [
        "## Seeds",
        "",
        "Runs whose overrides differ only in `seed` form a group: per metric the mean ± standard deviation over "
        "its seeds (n = the number of seeds; each seed's value is in report.csv, the groups' in "
        f"{GROUPS_CSV}).",
        "",
    ]
    cells = [
        [group.label, f"{len(group.members)} ({', '.join(group.seeds)})"]
        + [_summary_cell(group.summaries.get(metric), metric, len(group.members)) for metric in metrics]
        for group in groups
    ]
    lines += text_table(columns, cells)
    parts = by_data(groups)
    if len(parts) > 1:
        described = "; ".join(f"{data or 'not evaluated'}: {', '.join(group.label for group in part)}" for data, part in parts.items())
        lines += [
            "",
            f"The groups were measured on different data ({described}): their numbers do not compare across "
            "that line (FD and precision/recall in another classifier's features, likelihoods of other pixels), "
            "so a best group is named only among those measured on the same data.",
        ]
    verdicts = [
        (metric, data, *clear_best(part, metric))
        for data, part in parts.items()
        for metric in metrics
        if better_direction(metric)
    ]
    verdicts = [(metric, data, best, reason) for metric, data, best, reason in verdicts if reason]
    if verdicts:
        lines += [
            "",
            "Best group per metric, named only where its mean is further from the next best's than the two "
            "standard deviations added:",
            "",
        ]
        lines += [
            f"- {metric}{f' ({data})' if len(parts) > 1 else ''}: {'**' + reason + '**' if best is not None else reason}"
            for metric, data, best, reason in verdicts
        ]
    return [*lines, ""]


def write_groups_csv(path: Path, groups: Sequence[SeedGroup], metrics: Sequence[str]) -> Path:
    keys = list(dict.fromkeys(key for group in groups for key in group.setting))
    columns = [*keys, "seeds", "seed_values", *(f"{metric}_{part}" for metric in metrics for part in ("mean", "std", "n"))]
    values = []
    for group in groups:
        row: list[Any] = [group.setting.get(key) for key in keys] + [len(group.members), ";".join(group.seeds)]
        for metric in metrics:
            found = group.summaries.get(metric)
            row += [None, None, 0] if found is None else [found.mean, found.std, found.n]
        values.append(row)
    return write_csv(path, columns, values)


# ----------------------------------------------------------------------------- an Optuna search's trials


def trials_sections(directory: Path, notes: list[str]) -> list[str]:
    """A table per trials.csv at or below ``directory`` (an Optuna search's), its best trial named."""
    lines: list[str] = []
    for path in sorted(directory.rglob(TRIALS_FILE)):
        trials = or_left_out(lambda: read_trials(path.parent), [], notes)
        if not trials:
            continue
        trials.sort(key=lambda trial: natural(trial.get("number")))
        columns = list(dict.fromkeys(column for trial in trials for column in trial))
        where = str(path.parent.relative_to(directory)) if path.parent != directory else "this directory"
        lines += [f"## Optuna search ({where}: {len(trials)} trials)", ""]
        best = _best_trial(trials)
        if best is not None:
            params = ", ".join(f"{key}={best[key]}" for key in columns if key not in TRIAL_FIELDS)
            lines += [f"Best trial: {best['number']}, {best.get('objective') or 'objective'} = {best['value']} ({params}).", ""]
        lines += text_table(columns, [[str(trial.get(column) or "") for column in columns] for trial in trials], numbers=False)
        lines.append("")
    return lines


def _best_trial(trials: Sequence[dict[str, str]]) -> dict[str, str] | None:
    done = []
    for trial in trials:
        try:
            value = float(trial.get("value") or "nan")
        except ValueError:
            continue
        if trial.get("state", COMPLETE) == COMPLETE and math.isfinite(value):
            done.append((value, trial))
    if not done:
        return None
    sign = 1.0 if (done[0][1].get("direction") or "minimize") == "minimize" else -1.0
    return min(done, key=lambda item: sign * item[0])[1]


# ----------------------------------------------------------------------------- the contact sheet


def contact_sheet(grids: Sequence[np.ndarray], columns: int | None, padding: int) -> np.ndarray:
    """Titled grids (H_i, W_i, C_i) side by side: each in a cell of the largest one's size, white-filled."""
    channels = max(grid.shape[-1] for grid in grids)
    height = max(grid.shape[0] for grid in grids)
    width = max(grid.shape[1] for grid in grids)
    cells = np.full((len(grids), height, width, channels), 255, np.uint8)
    for cell, grid in zip(cells, grids):
        cell[: grid.shape[0], : grid.shape[1]] = grid if grid.shape[-1] == channels else np.repeat(grid, channels, -1)
    columns = columns or (len(grids) if len(grids) <= MAX_SIDE_BY_SIDE else math.ceil(math.sqrt(len(grids))))
    return tile(cells, min(columns, len(grids)), padding)


def sample_grid(
    run_dir: Path, samples: int, seed: int, padding: int, title: str, precise_bn: bool = True,
    precise_bn_images: int = PRECISE_BN_IMAGES, notes: list[str] | None = None,
) -> np.ndarray:
    """The picture of `genlab sample checkpoint=RUN n=samples seed=seed`, with ``title`` above it (blank
    tiles, and a line in ``notes``, when the run cannot draw them)."""
    from genlab.rundir.saved_run import SavedRun

    run = None
    try:
        run = SavedRun(run_dir, precise_bn=precise_bn, precise_bn_images=precise_bn_images)
        images = run.sample(samples, seed)
    except ConfigError:  # a saved config genlab refuses to read (a name it does not know, an interpolation): never skipped
        raise
    except GenlabError as error:  # e.g. an autoencoder whose training data is gone, a damaged run: blank tiles
        log.warning("%s: no samples: %s", run_dir, error)
        if notes is not None:
            notes.append(f"{title}: no samples: {error}")
        images = np.ones((samples, *(run.info["image_shape"] if run is not None else BLANK_TILE)), np.float32)
        title = f"{title} (no samples)"
    return tile(images, None, padding, caption=title)


# ----------------------------------------------------------------------------- the command


def report(config: Any) -> list[Path]:
    directory = Path(config.dir).expanduser().resolve()
    if not directory.is_dir():
        raise GenlabError(f"dir={config.dir}: no such directory ({directory})")
    runs = find_runs(directory)
    if not runs:
        raise GenlabError(f"dir={config.dir}: no run directories (holding {rundir.CONFIG_FILE}) under {directory}")
    notes: list[str] = []
    trained = [run for run in runs if rundir.latest_checkpoint_step(run) is not None]
    for run in sorted(set(runs) - set(trained)):
        notes.append(f"{run.relative_to(directory)}: no checkpoint yet, left out")
        log.warning("%s has no checkpoint yet: left out of the report", run)
    if not trained:
        raise GenlabError(f"dir={config.dir}: none of the {len(runs)} run directories has a checkpoint yet")

    stale = [run for run in trained if not is_current(run, config)]
    if stale and config.evaluate:
        from genlab.evaluate.evaluator import Evaluator, format_table

        evaluator = Evaluator(config)
        for number, run in enumerate(stale, 1):
            log.info("evaluating %d of %d: %s", number, len(stale), run)
            try:
                log.info("%s", format_table(evaluator.evaluate(str(run))))
            except GenlabError as error:  # one unusable run (its data gone, say) does not stop the report
                log.warning("%s: not evaluated: %s", run, error)
                notes.append(f"{run.relative_to(directory)}: not evaluated: {error}")
    rows = read_rows(directory, trained, notes)
    for row in rows:
        if row.evaluated_step is None and not config.evaluate:
            notes.append(f"{row.title}: not evaluated (evaluate=false)")
        elif row.evaluated_step is not None and row.evaluated_step != row.step:
            notes.append(f"{row.title}: metrics of step {row.evaluated_step}, the latest checkpoint is step {row.step}")
    notes += [f"{row.title}: {note}" for row in rows for note in row.notes]

    rows += read_scored_samples(directory, config.key(), notes)

    log.info("sample grids of %d runs (n=%d, seed=%d)", len(rows), config.samples, config.seed)
    grids = [grid_of(row, config, notes) for row in rows]
    columns, values = table(rows)
    metrics = columns[columns.index("steps") + 1 :]
    groups = seed_groups(rows)
    seeded = any(len(group.members) > 1 for group in groups)
    sections = [*(groups_section(groups, metrics) if seeded else []), *trials_sections(directory, notes)]
    histories = [history_curves(row.records) for row in rows]
    colour_of = {name: number for number, group in enumerate(groups) for name in group.members}
    figure = curves_figure([row.title for row in rows], histories, [colour_of[row.name] for row in rows])
    written = [
        write_markdown(
            directory / REPORT_MD, directory, columns, values, config.key(), notes, sheet=True, sections=sections,
            curves=figure is not None,
        ),
        write_csv(directory / REPORT_CSV, columns, values),
    ]
    if seeded:
        written.append(write_groups_csv(directory / GROUPS_CSV, groups, metrics))
    written.append(save_png(contact_sheet(grids, config.columns, config.padding), directory / CONTACT_SHEET))
    if figure is not None:
        from genlab.render.plots import save_figure

        written.append(save_figure(figure, directory / CURVES))
    for path in written:
        print(path, file=sys.stdout, flush=True)
    return written


def grid_of(row: RunRow, config: Any, notes: list[str]) -> np.ndarray:
    """A run's sample grid, or the first images of a set made elsewhere, titled."""
    padding = config.padding
    if row.samples is None:
        return sample_grid(
            row.run_dir, config.samples, config.seed, padding, row.title, config.precise_bn, config.precise_bn_images, notes
        )
    try:
        images = preview(row.samples, config.samples)
    except GenlabError as error:
        log.warning("%s: no preview: %s", row.samples, error)
        notes.append(f"{row.title}: no preview: {error}")
        return tile(np.ones((1, *BLANK_TILE), np.float32), None, padding, caption=f"{row.title} (no preview)")
    return tile(images, None, padding, caption=row.title)
