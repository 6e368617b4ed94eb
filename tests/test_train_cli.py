"""`genlab train` end to end through the real CLI, on tiny data in the official formats."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image

import fakedata
from conftest import (
    GENLAB,
    assert_rerun_skips_finished_jobs,
    files_of,
    run_genlab,
    tiny_sweep_args,
    tiny_train_args,
    train_presets,
)

pytestmark = pytest.mark.slow

WATCHED_METRIC = {"ae": "loss", "vae": "loss", "gan": "d_loss"}


def history(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "history.jsonl").read_text().splitlines()]


@pytest.fixture(scope="module")
def cifar_args(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    archive = fakedata.write_cifar10_binary(tmp_path_factory.mktemp("cifar"), n_train=96, n_test=16)
    return ["dataset=cifar10", f"dataset.path={archive}", "dataset.download=false"]


@pytest.fixture(scope="module")
def folder_args(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    folder = fakedata.write_image_folder(tmp_path_factory.mktemp("folder"), n=96, size=80)
    return ["dataset=folder", f"dataset.path={folder}", "dataset.image_size=64"]


@pytest.mark.parametrize("source", ["idx", "cifar", "folder"])
def test_each_model_trains_on_each_source(source: str, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    dataset_args = request.getfixturevalue({"idx": "idx_dataset_args", "cifar": "cifar_args", "folder": "folder_args"}[source])
    expected_shape = {"idx": (28, 28, 1), "cifar": (32, 32, 3), "folder": (64, 64, 3)}[source]
    models = ("ae", "vae", "gan")
    runs = train_presets([f"tiny_{model}" for model in models], *dataset_args, "trainer.steps=30", sweep=tmp_path / "runs", cwd=tmp_path)
    for model in models:
        run_dir = runs[f"tiny_{model}"]
        info = json.loads((run_dir / "run_info.json").read_text())
        assert tuple(info["image_shape"]) == expected_shape
        values = [entry[WATCHED_METRIC[model]] for entry in history(run_dir)]
        assert [entry["step"] for entry in history(run_dir)] == [5, 10, 15, 20, 25, 30]
        assert all(np.isfinite(values))
        assert values[-1] < values[0], (model, values)

        frame = Image.open(run_dir / "progress" / "step_0000030.png")
        assert frame.size[0] > expected_shape[1] and frame.mode == ("L" if expected_shape[2] == 1 else "RGB")


def test_run_directory_and_tensorboard_contents(trained_runs: dict[str, Path]) -> None:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    run_dir = trained_runs["vae"]
    for entry in (".hydra/config.yaml", ".hydra/overrides.yaml", "checkpoints/checkpoint", "train.log", "samples.png"):
        assert (run_dir / entry).exists(), entry
    frames = sorted(path.name for path in (run_dir / "progress").glob("step_*.png"))
    assert frames == ["step_0000000.png", "step_0000010.png", "step_0000020.png"]
    assert "step 20/20" in (run_dir / "train.log").read_text()

    events = EventAccumulator(str(run_dir / "tensorboard"), size_guidance={"tensors": 0}).Reload()
    tags = set(events.Tags()["tensors"])
    assert {"train/loss", "train/reconstruction", "train/kl", "train/elbo", "samples", "reconstructions"} <= tags
    loss_steps = [event.step for event in events.Tensors("train/loss")]
    assert loss_steps == [5, 10, 15, 20]
    sample_image = events.Tensors("samples")[-1].tensor_proto.string_val[2]
    assert Image.open(__import__("io").BytesIO(sample_image)).size[0] > 28


def test_gan_logs_both_losses_and_accuracies(trained_runs: dict[str, Path]) -> None:
    entry = history(trained_runs["gan"])[-1]
    assert {"d_loss", "g_loss", "d_accuracy_real", "d_accuracy_fake"} <= set(entry)
    assert 0.0 <= entry["d_accuracy_real"] <= 1.0


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGUSR2])  # USR2: Slurm's time-limit warning
def test_sigterm_saves_and_says_how_to_resume(
    stop_signal: signal.Signals, idx_dataset_args: list[str], tmp_path: Path
) -> None:
    run_dir = tmp_path / "run"
    args = tiny_train_args("vae", idx_dataset_args, steps=100000) + [f"hydra.run.dir={run_dir}"]
    process = subprocess.Popen([GENLAB, *args], cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while not (run_dir / "checkpoints" / "checkpoint").exists():
        assert time.time() < deadline and process.poll() is None
        time.sleep(0.05)
    process.send_signal(stop_signal)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 128 + stop_signal
    assert f"genlab train resume={run_dir}" in stderr
    assert "Traceback" not in stderr
    saved_step = int((run_dir / "checkpoints" / "checkpoint").read_text().split("ckpt-")[1].split('"')[0])
    assert saved_step == history(run_dir)[-1]["step"] or saved_step % 5 == 0


def test_resume_refuses_a_changed_network(trained_runs: dict[str, Path], tmp_path: Path) -> None:
    """And the refused job changes no file of the run: its error line goes to the console, not to train.log."""
    before = files_of(trained_runs["vae"])
    result = run_genlab("train", f"resume={trained_runs['vae']}", "latent_dim=8", cwd=tmp_path)
    assert result.returncode != 0
    assert "latent_dim" in result.output and "Traceback" not in result.output
    other_model = run_genlab("train", f"resume={trained_runs['vae']}", "model=gan", cwd=tmp_path)
    assert other_model.returncode != 0 and "model" in other_model.output
    assert files_of(trained_runs["vae"]) == before


def test_non_finite_loss_stops_naming_the_step(idx_dataset_args: list[str], tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    args = tiny_train_args("vae", idx_dataset_args, steps=50) + [
        "optimizer=sgd",
        "optimizer.learning_rate=1e12",
        f"hydra.run.dir={run_dir}",
    ]
    result = run_genlab(*args, cwd=tmp_path)
    assert result.returncode != 0
    assert "non-finite loss at step" in result.output and "Traceback" not in result.output
    assert not (run_dir / "checkpoints" / "checkpoint").exists()


@pytest.fixture(scope="module")
def finished_sweep(idx_dataset_args: list[str], tmp_path_factory: pytest.TempPathFactory) -> tuple[list[str], list[Path]]:
    """A finished sweep of two jobs (beta=1,4) and the arguments that made it."""
    workdir = tmp_path_factory.mktemp("sweep")
    args = tiny_sweep_args(idx_dataset_args, workdir / "sweep", "beta=1,4")
    first = run_genlab(*args, cwd=workdir)
    assert first.returncode == 0, first.output
    return args, sorted(path.parent.parent for path in (workdir / "sweep").glob("*/checkpoints/checkpoint"))


def test_sweep_makes_one_directory_per_job_and_skips_finished_jobs(
    finished_sweep: tuple[list[str], list[Path]], tmp_path: Path
) -> None:
    args, runs = finished_sweep
    assert len(runs) == 2
    betas = sorted(float(yaml.safe_load((run / ".hydra/config.yaml").read_text())["beta"]) for run in runs)
    assert betas == [1.0, 4.0]

    assert_rerun_skips_finished_jobs(args, runs, cwd=tmp_path)


def test_a_sweep_job_directory_is_given_as_it_is(finished_sweep: tuple[list[str], list[Path]]) -> None:
    """Its name holds the job's overrides (beta=1,dataset=mnist,...), and every command takes it."""
    _, (first, second) = finished_sweep
    assert first.name.startswith("beta=1,") and "=" in second.name and "," in second.name
    sweep = first.parent

    # a continued run that already reached more steps than asked for: nothing to do, nothing changed
    before = files_of(first)
    resumed = run_genlab("train", f"resume={first}", "trainer.steps=5", cwd=sweep)
    assert resumed.returncode == 0, resumed.output
    assert f"{first} already reached step 10 of 5: nothing to do" in resumed.stderr
    assert files_of(first) == before

    sampled = run_genlab("sample", first.name, "n=4", cwd=sweep)  # a plain argument, relative
    assert sampled.returncode == 0, sampled.output
    assert sampled.stdout.split() == [str(first / "renders" / "sample" / "sample_step10_seed0.png")]
    both = run_genlab("sample", "-m", f"checkpoint={first},{second}", "n=4", "seed=1", cwd=sweep)  # a sweep over both
    assert both.returncode == 0, both.output
    assert both.stdout.split() == [str(run / "renders" / "sample" / "sample_step10_seed1.png") for run in (first, second)]

    small = ["n=8", "k=2", "nll_n=8", "kid_subsets=2", "kid_subset_size=4"]
    evaluated = run_genlab("evaluate", f"checkpoint={second}", *small, cwd=sweep)
    assert evaluated.returncode == 0, evaluated.output
    assert evaluated.stdout.splitlines()[-1] == f"metrics: {second / 'metrics.json'}"


def test_two_runs_started_together_get_their_own_directories(idx_dataset_args: list[str], tmp_path: Path) -> None:
    args = tiny_train_args("ae", idx_dataset_args, steps=5)
    processes = [
        subprocess.Popen([GENLAB, *args], cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    outputs = [process.communicate(timeout=300) for process in processes]
    assert all(process.returncode == 0 for process in processes), outputs
    run_dirs = {line.split(": ", 1)[1] for out, _ in outputs for line in out.splitlines() if line.startswith("run directory")}
    assert len(run_dirs) == 2
    assert all(Path(run_dir).parent.name == "ae-mnist" for run_dir in run_dirs)


def test_loop_is_traced_once(idx_dir: Path, tmp_path: Path) -> None:
    from test_config import compose_train

    from genlab.config.checks import validate
    from genlab.training.trainer import Trainer

    tiny = [arg for arg in tiny_train_args("ae", []) if arg.startswith(("trainer.", "model.", "latent_dim"))]
    overrides = [
        "model=ae",
        "dataset=mnist",
        f"dataset.path={idx_dir}",
        *tiny,
        "trainer.steps=23",  # the last call runs 3 steps: a different length must not retrace
    ]
    config = validate(compose_train(overrides))
    result = Trainer(config, tmp_path).train()
    assert result.step == 23
    assert result.trace_count == 1


def test_a_second_process_is_refused_and_a_stale_lock_is_taken_over(
    idx_dataset_args: list[str], tmp_path: Path
) -> None:
    run_dir = tmp_path / "run"
    assert run_genlab(*tiny_train_args("ae", idx_dataset_args, steps=5), f"hydra.run.dir={run_dir}", cwd=tmp_path).returncode == 0
    lock = run_dir / ".lock"
    lock.write_text(f"{os.getpid()}\n")  # a live process holds the run
    refused = run_genlab("train", f"resume={run_dir}", "trainer.steps=10", cwd=tmp_path)
    assert refused.returncode != 0
    assert f"being trained by process {os.getpid()}" in refused.output and "Traceback" not in refused.output

    lock.write_text("999999999\n")  # a process that no longer exists
    taken_over = run_genlab("train", f"resume={run_dir}", "trainer.steps=10", cwd=tmp_path)
    assert taken_over.returncode == 0, taken_over.output
    assert not lock.exists()
    assert (run_dir / "checkpoints" / "ckpt-10.index").exists()


@pytest.mark.parametrize(
    "switch", ["trainer.precision=mixed_bfloat16", "trainer.precision=mixed_float16", "trainer.jit_compile=true"]
)
def test_precision_and_xla_switches_train_on_the_cpu(switch: str, idx_dataset_args: list[str], tmp_path: Path) -> None:
    """The GAN has two optimizers: mixed_float16 must scale both losses."""
    run_dir = tmp_path / "run"
    result = run_genlab(*tiny_train_args("gan", idx_dataset_args, steps=10), switch, f"hydra.run.dir={run_dir}", cwd=tmp_path)
    assert result.returncode == 0, result.output
    assert all(np.isfinite(entry["d_loss"]) and np.isfinite(entry["g_loss"]) for entry in history(run_dir))
    expected = switch.split("=")[1] if "precision" in switch else "XLA"
    assert expected in result.output


def test_a_failed_start_empties_but_keeps_a_directory_it_did_not_create(
    idx_dataset_args: list[str], tmp_path: Path
) -> None:
    """The batch is larger than the data set: the run fails once the data is known, before its config is written."""
    named = tmp_path / "named"
    named.mkdir()
    args = tiny_train_args("ae", idx_dataset_args, steps=10) + ["trainer.batch_size=1000", f"hydra.run.dir={named}"]
    result = run_genlab(*args, cwd=tmp_path)
    assert result.returncode != 0 and "trainer.batch_size" in result.output
    assert named.is_dir() and list(named.iterdir()) == []

    (named / "notes.txt").write_text("mine")  # something of the user's: nothing is removed
    result = run_genlab(*args, cwd=tmp_path)
    assert result.returncode != 0
    assert (named / "notes.txt").read_text() == "mine" and (named / "train.log").exists()
    assert not (named / ".hydra").exists()

    generated = run_genlab(*args[:-1], cwd=tmp_path)  # a directory genlab made for the run is removed
    assert generated.returncode != 0
    assert not (tmp_path / "outputs").exists()  # and so are the folders it made above it


def test_sweep_job_directories_stay_apart_when_names_are_shortened_or_cleaned() -> None:
    from genlab.rundir.layout import MAX_JOB_DIR_NAME, job_dir_name

    long_prefix = "model.encoder.widths=[" + ",".join(["64"] * 60) + "]"
    names = {job_dir_name(f"{long_prefix},trainer.steps={steps}") for steps in (20, 100000)}
    assert len(names) == 2 and all(len(name) <= MAX_JOB_DIR_NAME for name in names)
    assert job_dir_name("a=x/y") != job_dir_name("a=x_y")
    assert job_dir_name("beta=4,seed=1") == "beta=4,seed=1"
    assert all("/" not in name for name in names | {job_dir_name("a=x/../y")})
