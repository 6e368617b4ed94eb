"""Shared fixtures: the real `genlab` CLI in a subprocess, tiny generated data, tiny trained runs."""
from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

import fakedata

GENLAB = shutil.which("genlab", path=str(Path(sys.executable).parent)) or "genlab"

# Tiny networks and short loops: every run goes through the real code path in seconds.
TINY_TRAINER = [
    "trainer.batch_size=16",
    "trainer.log_every=5",
    "trainer.image_every=10",
    "trainer.checkpoint_every=10",
    "trainer.num_images=16",
]
TINY_MODEL = {
    "ae": ["model.encoder.widths=[8,16]", "model.decoder.widths=[16,8]", "model.decoder.reshape_channels=8"],
    "vae": ["model.encoder.widths=[8,16]", "model.decoder.widths=[16,8]", "model.decoder.reshape_channels=8"],
    "gan": [
        "model.generator.widths=[16,8]",
        "model.generator.reshape_channels=16",
        "model.discriminator.widths=[8,16]",
    ],
    "vqvae": [
        "model.encoder.widths=[8,16]",
        "model.decoder.widths=[16,8]",
        "model.num_embeddings=16",
        "model.prior.steps=5",
        "model.prior.filters=16",
        "model.prior.kernel_size=3",
        "model.prior.residual_blocks=1",
    ],
}


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


BENCH = Path(__file__).resolve().parents[1] / "scripts" / "bench.py"


def load_bench():
    """scripts/bench.py as a module (it is a script, not part of the package)."""
    spec = importlib.util.spec_from_file_location("bench", BENCH)
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench"] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def run_genlab(*args: str, cwd: Path, timeout: float = 300, env: dict | None = None) -> Result:
    """Run the installed `genlab` console script, as a user would."""
    completed = subprocess.run(
        [GENLAB, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )
    return Result(completed.returncode, completed.stdout, completed.stderr)


def tiny_train_args(model: str, dataset_args: list[str], steps: int = 20, latent_dim: int = 4) -> list[str]:
    return [
        "train",
        f"model={model}",
        *dataset_args,
        f"latent_dim={latent_dim}",
        f"trainer.steps={steps}",
        *TINY_TRAINER,
        *TINY_MODEL[model],
    ]


TEST_CONFIGS = Path(__file__).resolve().parent / "conf"  # presets for tests only (tests/conf/experiment)


def train_presets(presets: list[str], *args: str, sweep: Path, cwd: Path) -> dict[str, Path]:
    """One `genlab train -m` process training each of ``presets`` (tests/conf/experiment) with ``args``.

    Several runs in one process save a TensorFlow start-up each; the job directories are
    named after their preset.
    """
    result = run_genlab(
        "train",
        "-m",
        f"experiment={','.join(presets)}",
        f"hydra.searchpath=[file://{TEST_CONFIGS}]",
        *args,
        f"hydra.sweep.dir={sweep}",
        "hydra.sweep.subdir=${hydra.runtime.choices.experiment}",
        cwd=cwd,
    )
    assert result.returncode == 0, result.output
    return {preset: sweep / preset for preset in presets}


def tiny_sweep_args(dataset_args: list[str], sweep: Path, *extra: str, model: str = "vae", steps: int = 10) -> list[str]:
    """`genlab train -m` of tiny runs into ``sweep``; ``extra`` holds the swept values (``beta=1,4``)."""
    return ["train", "-m", *tiny_train_args(model, dataset_args, steps)[1:], *extra, f"hydra.sweep.dir={sweep}"]


def files_of(*run_dirs: Path) -> dict[Path, tuple[int, str]]:
    """Every file under the run directories with its modification time and a hash of its bytes."""
    return {
        path: (path.stat().st_mtime_ns, hashlib.sha256(path.read_bytes()).hexdigest())
        for run_dir in run_dirs
        for path in run_dir.rglob("*")
        if path.is_file()
    }


def assert_rerun_skips_finished_jobs(args: list[str], runs: list[Path], cwd: Path) -> None:
    """Running a finished sweep again says "nothing to do" for every job and changes no file of any run."""
    before = files_of(*runs)
    again = run_genlab(*args, cwd=cwd)
    assert again.returncode == 0, again.output
    assert again.output.count("nothing to do") == len(runs)
    assert files_of(*runs) == before


def kill_at_checkpoint(command: list[str], checkpoint: Path, cwd: Path, timeout: float = 180) -> None:
    """Start ``command`` (a `genlab train` with a long budget) and kill -9 it once ``checkpoint`` is written."""
    process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + timeout
        while not Path(f"{checkpoint}.index").exists():
            assert time.time() < deadline and process.poll() is None, f"{checkpoint.name} did not appear"
            time.sleep(0.01)
        process.kill()
    finally:
        process.wait()
    assert process.returncode == -signal.SIGKILL


def checkpoint_values(run_dir: Path) -> dict:
    """Every saved value of the run's latest checkpoint by name (the checkpoint's own counter left out)."""
    import tensorflow as tf

    reader = tf.train.load_checkpoint(tf.train.latest_checkpoint(str(run_dir / "checkpoints")))
    names = [name for name in reader.get_variable_to_shape_map() if not name.startswith(("save_counter", "_CHECK"))]
    return {name: reader.get_tensor(name) for name in names}


@pytest.fixture(scope="session")
def idx_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny MNIST-format data set (28x28x1) in the official IDX .gz files."""
    return fakedata.write_idx_dataset(tmp_path_factory.mktemp("idx"), n_train=96, n_test=32)


@pytest.fixture(scope="session")
def idx_dataset_args(idx_dir: Path) -> list[str]:
    return ["dataset=mnist", f"dataset.path={idx_dir}", "dataset.download=false"]


@pytest.fixture(scope="session")
def idx_256_args(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """MNIST-format data with room for the default batch of 128."""
    folder = fakedata.write_idx_dataset(tmp_path_factory.mktemp("idx256"), n_train=256, n_test=32)
    return ["dataset=mnist", f"dataset.path={folder}", "dataset.download=false"]


@pytest.fixture(scope="session")
def trained_runs(tmp_path_factory: pytest.TempPathFactory, idx_dataset_args: list[str]) -> dict[str, Path]:
    """One tiny trained run per model on the IDX data (20 steps), shared by every test that only reads runs."""
    workdir = tmp_path_factory.mktemp("trained")
    runs = train_presets(["tiny_ae", "tiny_vae", "tiny_gan"], *idx_dataset_args, "trainer.steps=20", sweep=workdir / "runs", cwd=workdir)
    return {model: runs[f"tiny_{model}"] for model in ("ae", "vae", "gan")}
