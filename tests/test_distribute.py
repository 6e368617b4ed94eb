"""trainer.strategy: one run over two logical CPU devices, and over two worker processes on localhost."""
from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

from conftest import GENLAB, run_genlab, tiny_train_args, train_presets
from genlab.training.cluster import cluster_role
from genlab.errors import ConfigError
from test_train_cli import history

STEPS = 20


def losses(run_dir: Path, metric: str = "loss") -> np.ndarray:
    """``metric`` at every logged step that has it (a VQ-VAE's prior phase logs its own)."""
    return np.array([entry[metric] for entry in history(run_dir) if metric in entry])


def free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    for each in sockets:
        each.bind(("127.0.0.1", 0))
    ports = [each.getsockname()[1] for each in sockets]
    for each in sockets:
        each.close()
    return ports


def tf_config(ports: list[int], index: int) -> str:
    cluster = {"worker": [f"localhost:{port}" for port in ports]}
    return json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}})


def start_workers(args: list[str], run_dir: Path, cwd: Path, count: int = 2) -> list[subprocess.Popen]:
    ports = free_ports(count)
    return [
        subprocess.Popen(
            [GENLAB, *args, "trainer.strategy=multi_worker", f"hydra.run.dir={run_dir}"],
            cwd=cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "TF_CONFIG": tf_config(ports, index)},
        )
        for index in range(count)
    ]


def finish(workers: list[subprocess.Popen], timeout: float = 300) -> list[str]:
    outputs = []
    for worker in workers:
        stdout, stderr = worker.communicate(timeout=timeout)
        outputs.append(stdout + stderr)
    return outputs


@pytest.fixture(scope="module")
def single_device_ae(tmp_path_factory: pytest.TempPathFactory, idx_dataset_args: list[str]) -> Path:
    workdir = tmp_path_factory.mktemp("single")
    run_dir = workdir / "run"
    result = run_genlab(*tiny_train_args("ae", idx_dataset_args, STEPS), f"hydra.run.dir={run_dir}", cwd=workdir)
    assert result.returncode == 0, result.output
    return run_dir


def test_mirrored_over_two_cpu_devices_follows_the_single_device_loss_curve(
    single_device_ae: Path, idx_dataset_args: list[str], tmp_path: Path
) -> None:
    """The AE is deterministic: two half batches with halved losses give the full batch's update."""
    run_dir = tmp_path / "run"
    args = tiny_train_args("ae", idx_dataset_args, STEPS) + ["trainer.strategy=mirrored", "trainer.cpu_devices=2"]
    result = run_genlab(*args, f"hydra.run.dir={run_dir}", cwd=tmp_path)
    assert result.returncode == 0, result.output
    assert "mirrored over 2 replicas" in result.output
    assert len(history(run_dir)) == len(history(single_device_ae))
    np.testing.assert_allclose(losses(run_dir), losses(single_device_ae), rtol=1e-4)
    assert losses(run_dir)[-1] < losses(run_dir)[0]

    # The mirrored run's checkpoint renders on one device.
    rendered = run_genlab("reconstruct", f"checkpoint={run_dir}", f"out={tmp_path / 'rec.png'}", cwd=tmp_path)
    assert rendered.returncode == 0, rendered.output
    assert (tmp_path / "rec.png").stat().st_size > 0


def test_a_conditional_autoencoder_mirrored_follows_its_single_device_loss_curve(
    idx_dataset_args: list[str], tmp_path: Path
) -> None:
    """Each replica takes the conditions of its own half of the batch: a misaligned slice would change the loss."""
    curves = {}
    for name, extra in (("single", []), ("mirrored", ["trainer.strategy=mirrored", "trainer.cpu_devices=2"])):
        run_dir = tmp_path / name
        args = tiny_train_args("ae", idx_dataset_args, STEPS) + ["condition=class", *extra]
        result = run_genlab(*args, f"hydra.run.dir={run_dir}", cwd=tmp_path)
        assert result.returncode == 0, result.output
        curves[name] = losses(run_dir)
    assert len(curves["mirrored"]) == len(curves["single"]) > 1
    np.testing.assert_allclose(curves["mirrored"], curves["single"], rtol=1e-4)


# The stochastic cases that share their switches (two CPU devices, float32) train in one `genlab train -m`
# process; each preset is the tiny network of tiny_train_args with the case's switches (tests/conf/experiment).
MIRRORED_PRESETS = {"vae": "tiny_vae", "wgan-gp-sn-ema": "tiny_wgan_gp", "vqvae-ema-and-prior": "tiny_vqvae_ema"}
WATCHED = {"vae": "loss", "gan-mixed-precision": "d_loss", "wgan-gp-sn-ema": "d_loss", "vqvae-ema-and-prior": "loss"}


@pytest.fixture(scope="module")
def mirrored_presets(idx_dataset_args: list[str], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """vae, wgan-gp-sn-ema and vqvae-ema-and-prior trained on two CPU devices, auto strategy, in one sweep."""
    workdir = tmp_path_factory.mktemp("mirrored")
    runs = train_presets(
        list(MIRRORED_PRESETS.values()), *idx_dataset_args, f"trainer.steps={STEPS}", "trainer.cpu_devices=2",
        sweep=workdir / "runs", cwd=workdir,
    )  # fmt: skip
    return {case: runs[preset] for case, preset in MIRRORED_PRESETS.items()}


@pytest.mark.parametrize("case", ["vae", "gan-mixed-precision", "wgan-gp-sn-ema", "vqvae-ema-and-prior"])
def test_mirrored_trains_the_stochastic_models(case: str, idx_dataset_args: list[str], request: pytest.FixtureRequest, tmp_path: Path) -> None:
    """The GAN case also scales both optimizers' losses for float16 on each replica; the WGAN-GP (spectral
    norm, a generator average) and the VQ-VAE (an EMA codebook) update moving averages on every replica."""
    if case == "gan-mixed-precision":
        run_dir = tmp_path / "run"
        args = tiny_train_args("gan", idx_dataset_args, STEPS) + ["trainer.cpu_devices=2", "trainer.precision=mixed_float16"]
        result = run_genlab(*args, f"hydra.run.dir={run_dir}", cwd=tmp_path)
        assert result.returncode == 0, result.output
        assert "mixed_float16" in result.output
    else:
        run_dir = request.getfixturevalue("mirrored_presets")[case]
    assert "mirrored over 2 replicas" in (run_dir / "train.log").read_text()  # auto picks mirrored for two devices
    metric = WATCHED[case]
    assert len(losses(run_dir, metric)) > 0 and np.all(np.isfinite(losses(run_dir, metric)))
    last_step = history(run_dir)[-1]["step"]
    assert (run_dir / "checkpoints" / f"ckpt-{last_step}.index").exists()
    if case == "wgan-gp-sn-ema":
        config = (run_dir / ".hydra" / "config.yaml").read_text()
        assert "gradient_penalty: 10.0" in config and "spectral_norm: true" in config and "ema_decay: 0.9" in config
    if case == "vqvae-ema-and-prior":  # its prior phase ran on both replicas too
        assert "codebook_update: ema" in (run_dir / ".hydra" / "config.yaml").read_text()
        assert last_step == STEPS + 5 and np.all(np.isfinite(losses(run_dir, "prior_loss")))


def test_two_workers_agree_and_follow_the_single_device_loss_curve(
    single_device_ae: Path, idx_dataset_args: list[str], tmp_path: Path
) -> None:
    run_dir = tmp_path / "run"
    outputs = finish(start_workers(tiny_train_args("ae", idx_dataset_args, STEPS), run_dir, tmp_path))
    for index, output in enumerate(outputs):
        assert f"finished at step {STEPS}" in output, output
        assert f"worker {index} of 2 workers" in output
        assert "Traceback" not in output
    fingerprints = [re.search(r"weights sha256 ([0-9a-f]{64})", output).group(1) for output in outputs]
    assert fingerprints[0] == fingerprints[1]

    # Only the chief wrote: one history line per logged step, one set of checkpoints, no lock left.
    steps = [entry["step"] for entry in history(run_dir)]
    assert steps == sorted(set(steps)) == [entry["step"] for entry in history(single_device_ae)]
    np.testing.assert_allclose(losses(run_dir), losses(single_device_ae), rtol=1e-4)
    assert sorted(path.name for path in (run_dir / "checkpoints").glob("*.index")) == ["ckpt-10.index", "ckpt-20.index"]
    assert not (run_dir / ".lock").exists()


def test_a_stopped_worker_stops_every_worker_with_a_checkpoint_that_resumes(
    idx_dataset_args: list[str], tmp_path: Path
) -> None:
    run_dir = tmp_path / "run"
    workers = start_workers(tiny_train_args("ae", idx_dataset_args, steps=100000), run_dir, tmp_path)
    deadline = time.time() + 180
    while not (run_dir / "history.jsonl").exists():
        assert time.time() < deadline and all(worker.poll() is None for worker in workers)
        time.sleep(0.1)
    workers[1].send_signal(signal.SIGINT)  # the non-chief: the chief must still save and stop
    outputs = finish(workers)
    assert [worker.returncode for worker in workers] == [128 + signal.SIGTERM, 128 + signal.SIGINT]
    stopped = [int(re.search(r"stopped at step (\d+)", output).group(1)) for output in outputs]
    assert stopped[0] == stopped[1]
    assert (run_dir / "checkpoints" / f"ckpt-{stopped[0]}.index").exists()

    # The multi-worker checkpoint continues on a single device.
    resumed = run_genlab("train", f"resume={run_dir}", f"trainer.steps={stopped[0] + 10}", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.output
    assert f"resuming from {run_dir / 'checkpoints' / f'ckpt-{stopped[0]}'}" in resumed.output


@pytest.mark.parametrize(
    "extra, env, message",
    [
        (["trainer.cpu_devices=2", "trainer.batch_size=15"], {}, "trainer.batch_size=15 does not split evenly over 2"),
        (["trainer.cpu_devices=2", "trainer.jit_compile=true"], {}, "trainer.jit_compile=true cannot be used with trainer.strategy=mirrored"),
        ([], {"TF_CONFIG": tf_config([1, 2], 1)}, "give every worker the same run directory with hydra.run.dir"),
        (["trainer.strategy=mirrored", "hydra.run.dir=RUN"], {"TF_CONFIG": tf_config([1, 2], 0)}, "use trainer.strategy=multi_worker"),
        ([], {"TF_CONFIG": "{not json"}, "TF_CONFIG is not a valid cluster description"),
        (["trainer.strategy=parameter_server"], {}, "trainer.strategy"),
        (["trainer.cpu_devices=0"], {}, "trainer.cpu_devices"),
    ],
)
def test_bad_distribution_settings_are_refused_cleanly(
    extra: list[str], env: dict[str, str], message: str, idx_dataset_args: list[str], tmp_path: Path
) -> None:
    extra = [item.replace("RUN", str(tmp_path / "run")) for item in extra]
    result = run_genlab(*tiny_train_args("ae", idx_dataset_args, steps=10), *extra, cwd=tmp_path, env=env)
    assert result.returncode != 0
    assert message in result.output
    assert "Traceback" not in result.output
    leftovers = [path for path in tmp_path.rglob("*") if path.is_file()]
    assert leftovers == [], leftovers


def test_cluster_role_reads_tf_config() -> None:
    assert cluster_role({}).is_chief and not cluster_role({}).is_multi_worker
    worker = cluster_role({"TF_CONFIG": tf_config([1, 2, 3], 2)})
    assert (worker.name, worker.num_workers, worker.is_chief) == ("worker 2", 3, False)
    assert cluster_role({"TF_CONFIG": tf_config([1, 2], 0)}).is_chief
    with_chief = {"cluster": {"chief": ["a:1"], "worker": ["b:1"]}, "task": {"type": "worker", "index": 0}}
    assert not cluster_role({"TF_CONFIG": json.dumps(with_chief)}).is_chief
    with pytest.raises(ConfigError, match="task worker 5 is not in the cluster"):
        cluster_role({"TF_CONFIG": tf_config([1], 5)})


def test_a_killed_worker_ends_the_others_with_a_clean_error(idx_dataset_args: list[str], tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    args = tiny_train_args("ae", idx_dataset_args, steps=100000) + ["trainer.checkpoint_every=5"]
    workers = start_workers(args, run_dir, tmp_path)
    deadline = time.time() + 180
    while not list((run_dir / "checkpoints").glob("*.index")):
        assert time.time() < deadline and all(worker.poll() is None for worker in workers)
        time.sleep(0.1)
    workers[1].kill()
    chief_output = finish(workers[:1])[0]
    workers[1].wait()
    assert workers[0].returncode != 0
    assert "lost contact with another worker" in chief_output and "start every worker again" in chief_output
    assert "Traceback" not in chief_output
    assert (run_dir / "checkpoints" / "checkpoint").exists()
