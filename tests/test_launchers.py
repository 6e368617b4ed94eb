"""Sweeps beyond one process: the joblib launcher (parallel worker processes) and the Slurm configs."""
from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from datetime import datetime
from pathlib import Path

import pytest
import yaml

from conftest import GENLAB, assert_rerun_skips_finished_jobs, run_genlab, tiny_sweep_args

pytestmark = pytest.mark.slow

JOBLIB = ["hydra/launcher=joblib", "hydra.launcher.n_jobs=2"]
LOG_LINE = re.compile(r"^\[(?P<time>[^]]+)\]\[pid (?P<pid>\d+)\]")


def sweep_args(idx_dataset_args: list[str], sweep: Path, *extra: str, steps: int = 10) -> list[str]:
    return tiny_sweep_args(idx_dataset_args, sweep, *JOBLIB, *extra, steps=steps)


def log_lines(run_dir: Path) -> list[tuple[datetime, int]]:
    """(time, process id) of every line of a job's train.log."""
    matches = (LOG_LINE.match(line) for line in (run_dir / "train.log").read_text().splitlines())
    return [(datetime.strptime(m["time"], "%Y-%m-%d %H:%M:%S,%f"), int(m["pid"])) for m in matches if m]


def test_joblib_runs_the_jobs_in_parallel_processes_and_skips_finished_ones(
    idx_dataset_args: list[str], tmp_path: Path
) -> None:
    sweep = tmp_path / "sweep"
    args = sweep_args(idx_dataset_args, sweep, "beta=1,4")
    first = run_genlab(*args, cwd=tmp_path)
    assert first.returncode == 0, first.output
    assert "Joblib.Parallel(n_jobs=2" in first.output and "Traceback" not in first.output

    runs = sorted(path.parent.parent for path in sweep.glob("*/checkpoints/checkpoint"))
    assert [run.name.split(",")[0] for run in runs] == ["beta=1", "beta=4"]
    for run in runs:
        assert (run / "checkpoints" / "ckpt-10.index").is_file()
        assert len((run / "history.jsonl").read_text().splitlines()) == 2  # steps 5 and 10
        assert not (run / ".lock").exists()
        assert f"run directory: {run}" in first.stdout

    # Each job ran in a process of its own, and the two ran at the same time.
    lines = [log_lines(run) for run in runs]
    pids = [{pid for _, pid in job} for job in lines]
    assert all(len(job_pids) == 1 for job_pids in pids) and pids[0] != pids[1]
    (start_a, end_a), (start_b, end_b) = ((job[0][0], job[-1][0]) for job in lines)
    assert start_a < end_b and start_b < end_a

    assert_rerun_skips_finished_jobs(args, runs, cwd=tmp_path)


def test_a_failed_job_leaves_the_other_jobs_running(idx_dataset_args: list[str], tmp_path: Path) -> None:
    sweep = tmp_path / "sweep"
    result = run_genlab(*sweep_args(idx_dataset_args, sweep, "beta=1,-1"), cwd=tmp_path)
    assert result.returncode != 0
    assert "model.beta must be >= 0" in result.stderr
    assert "job 1 of the sweep failed (exit code 2)" in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("genlab: error: job 1 of the sweep failed")  # one prefix
    assert "Traceback" not in result.output
    finished = [path.parent.parent for path in sweep.glob("*/checkpoints/ckpt-10.index")]
    assert [run.name.split(",")[0] for run in finished] == ["beta=1"]


def test_ctrl_c_lets_every_job_save_and_stop(idx_dataset_args: list[str], tmp_path: Path) -> None:
    sweep = tmp_path / "sweep"
    # No checkpoint falls due while the test runs: the ones found afterwards were saved on Ctrl-C.
    long_jobs = ["trainer.steps=100000", "trainer.steps_per_loop=20", "trainer.log_every=20",
                 "trainer.image_every=20000", "trainer.checkpoint_every=20000"]
    args = sweep_args(idx_dataset_args, sweep, "beta=1,4", *long_jobs)
    output = tmp_path / "output.txt"
    with output.open("w") as sink:
        process = subprocess.Popen([GENLAB, *args], cwd=tmp_path, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.time() + 240
        while sum("step 40/" in log.read_text() for log in sweep.glob("*/train.log")) < 2:
            assert time.time() < deadline and process.poll() is None, output.read_text()
            time.sleep(0.5)
        os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
        process.wait(timeout=120)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    text = output.read_text()
    assert process.returncode != 0 and "Traceback" not in text, text
    assert "Ctrl-C: each running job saves a checkpoint and stops" in text

    runs = sorted(path.parent for path in sweep.glob("*/train.log"))
    assert len(runs) == 2
    for run in runs:
        stopped = re.search(r"stopped at step (\d+) of 100000; checkpoint saved", (run / "train.log").read_text())
        assert stopped, (run / "train.log").read_text()
        assert (run / "checkpoints" / f"ckpt-{stopped[1]}.index").is_file()
        assert not (run / ".lock").exists()


def test_slurm_launcher_configs_compose(tmp_path: Path) -> None:
    plain = run_genlab("train", "hydra/launcher=submitit_slurm", "--cfg", "hydra", cwd=tmp_path)
    assert plain.returncode == 0, plain.output
    launcher = yaml.safe_load(plain.stdout)["hydra"]["launcher"]
    assert launcher["_target_"].endswith("SlurmLauncher")
    assert {"partition", "timeout_min", "gpus_per_node", "cpus_per_task", "tasks_per_node", "mem_gb"} <= set(launcher)

    preset = run_genlab(
        "train", "hydra/launcher=slurm", "hydra.launcher.partition=gpu", "hydra.launcher.timeout_min=720",
        "--cfg", "hydra", "--package", "hydra.launcher", cwd=tmp_path,
    )
    assert preset.returncode == 0, preset.output
    launcher = yaml.safe_load(preset.stdout)
    assert launcher["_target_"].endswith("SlurmLauncher")
    assert launcher["partition"] == "gpu" and launcher["timeout_min"] == 720
    assert launcher["tasks_per_node"] == 1 and launcher["gpus_per_node"] == 1
    assert not list(tmp_path.iterdir())  # composing creates no run directory


def test_an_unknown_launcher_is_a_clean_error(tmp_path: Path) -> None:
    result = run_genlab("train", "-m", "hydra/launcher=nope", "beta=1,4", cwd=tmp_path)
    assert result.returncode != 0
    assert "genlab: error: hydra/launcher=nope: there is no such launcher; choose one of" in result.output
    assert "joblib" in result.output and "slurm" in result.output  # the available launchers are listed
    assert "Traceback" not in result.output


def test_two_hydra_modes_at_once_are_a_clean_error(tmp_path: Path) -> None:
    result = run_genlab("train", "-m", "hydra/launcher=slurm", "--cfg", "hydra", cwd=tmp_path)
    assert result.returncode == 2
    assert "--cfg and --multirun cannot be combined" in result.output and "Traceback" not in result.output
