"""A search with Hydra's Optuna sweeper (hparams_search=...): each trial's objective, trials.csv, objective.json."""
from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from conftest import TEST_CONFIGS, run_genlab
from genlab.commands.search import searched_params, sweeper_direction
from genlab.rundir.trials import COLUMNS, Trial, read_trials, record_trial

# The shipped preset, shrunk: tiny_vae's networks, 10 steps, 3 trials, a narrower beta.
SEARCH = [
    "train", "-m", "experiment=tiny_vae", "hparams_search=fashion_vae", f"hydra.searchpath=[file://{TEST_CONFIGS}]",
    "trainer.steps=10", "hydra.sweeper.n_trials=3", "hydra.sweeper.params.beta='interval(0.5,2)'",
]  # fmt: skip


def trials(sweep: Path) -> list[dict[str, str]]:
    with open(sweep / "trials.csv", newline="") as table:
        return list(csv.DictReader(table))


@pytest.mark.slow
def test_a_search_of_three_trials_returns_each_runs_metric(idx_dataset_args: list[str], tmp_path: Path) -> None:
    sweep = tmp_path / "search"
    result = run_genlab(*SEARCH, *idx_dataset_args, f"hydra.sweep.dir={sweep}", cwd=tmp_path)
    assert result.returncode == 0, result.output
    rows = trials(sweep)
    assert list(rows[0]) == [*COLUMNS, "beta", "optimizer.learning_rate"]
    assert [row["number"] for row in rows] == ["0", "1", "2"]
    assert {row["state"] for row in rows} == {"COMPLETE"}
    assert {(row["objective"], row["direction"]) for row in rows} == {("elbo", "maximize")}
    for row in rows:
        run_dir = sweep / row["run"]
        saved = json.loads((run_dir / "metrics.json").read_text())
        assert float(row["value"]) == saved["metrics"]["elbo"]
        assert json.loads((run_dir / "objective.json").read_text()) == {
            "objective": "elbo", "value": saved["metrics"]["elbo"], "direction": "maximize",
        }  # fmt: skip
        assert f"objective elbo = {row['value']}" in result.stdout
        assert 0.5 <= float(row["beta"]) <= 2 and 1e-4 <= float(row["optimizer.learning_rate"]) <= 1e-2
        assert OmegaConf.load(run_dir / ".hydra" / "config.yaml").beta == float(row["beta"])
    assert len({row["beta"] for row in rows}) == 3 and len({row["optimizer.learning_rate"] for row in rows}) == 3
    best = OmegaConf.load(sweep / "optimization_results.yaml")
    assert best.best_value == max(float(row["value"]) for row in rows)

    # the report lists the trials, the best one named
    reported = run_genlab("report", str(sweep), "evaluate=false", "samples=4", cwd=tmp_path)
    assert reported.returncode == 0, reported.output
    markdown = (sweep / "report.md").read_text()
    assert "## Optuna search (this directory: 3 trials)" in markdown
    best_row = max(rows, key=lambda row: float(row["value"]))
    assert f"Best trial: {best_row['number']}, elbo = {best_row['value']} (beta={best_row['beta']}," in markdown
    listed = [line for line in markdown.splitlines() if line.startswith("| ") and "COMPLETE" in line]
    assert [line.split(" | ")[1] for line in listed] == [row["value"] for row in rows]


@pytest.mark.slow
def test_failed_trials_are_rows_and_a_search_without_result_ends_in_one_line(
    idx_dataset_args: list[str], tmp_path: Path
) -> None:
    sweep = tmp_path / "search"
    # batches larger than the data set: a refusal that needs the data, so each trial meets it
    too_large = [*SEARCH[:-2], "hydra.sweeper.n_trials=2", "trainer.batch_size=500,600"]
    result = run_genlab(*too_large, *idx_dataset_args, f"hydra.sweep.dir={sweep}", cwd=tmp_path)
    assert result.returncode == 2, result.output
    assert "trainer.batch_size must not exceed the number of training images (96)" in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("genlab: error: no trial of the search completed")
    assert "Traceback" not in result.output
    assert [(row["number"], row["state"], row["value"]) for row in trials(sweep)] == [("0", "FAIL", ""), ("1", "FAIL", "")]


def test_an_unknown_objective_is_one_line_naming_the_choices(tmp_path: Path) -> None:
    result = run_genlab("train", "trainer.objective=foo", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [result.stderr.strip()]
    assert result.stderr.startswith("genlab: error: trainer.objective must be one of mse, psnr, elbo,")
    assert "fd_X" in result.stderr and "X = domain or inception" in result.stderr and "d_score_gap" in result.stderr and "(got 'foo')" in result.stderr
    assert not (tmp_path / "outputs").exists()


def test_a_search_needs_an_objective(tmp_path: Path) -> None:
    result = run_genlab("train", "-m", "hydra/sweeper=optuna", "hydra.sweeper.n_trials=1", "beta=interval(1,2)", cwd=tmp_path)
    assert result.returncode != 0
    assert "hydra/sweeper=optuna optimizes trainer.objective, which is null" in result.stderr
    assert "Traceback" not in result.output


def test_the_table_takes_each_trial_once_whatever_its_columns(tmp_path: Path) -> None:
    record_trial(tmp_path, Trial(1, -2.5, "elbo", "maximize", "COMPLETE", "b", {"beta": "2"}))
    record_trial(tmp_path, Trial(0, None, "elbo", "maximize", "FAIL", "a", {"beta": "1"}))
    record_trial(tmp_path, Trial(1, -2.0, "elbo", "maximize", "COMPLETE", "b", {"beta": "2", "seed": "3"}))
    rows = read_trials(tmp_path)
    assert [(row["number"], row["value"], row["state"], row["seed"]) for row in rows] == [
        ("0", "", "FAIL", ""), ("1", "-2.0", "COMPLETE", "3"),
    ]  # fmt: skip
    assert (tmp_path / "trials.csv").read_text().splitlines()[0] == "number,value,objective,direction,state,run,beta,seed"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["trials.csv"]


def test_the_searched_keys_and_the_direction_come_from_the_sweeper() -> None:
    hydra = OmegaConf.create({
        "sweeper": {"direction": "maximize", "params": {"beta": "interval(0.5, 2)"}},
        "overrides": {"task": ["beta=0.7", "dataset=mnist", "+seed=3"]},
    })  # fmt: skip
    assert sweeper_direction(hydra) == "maximize" and searched_params(hydra) == {"beta": "0.7"}
    hydra.sweeper = {"params": None}
    assert sweeper_direction(hydra) == "" and searched_params(hydra) == {"beta": "0.7", "dataset": "mnist", "seed": "3"}
    hydra.sweeper = {"direction": ["minimize"]}
    assert sweeper_direction(hydra) == "minimize"
