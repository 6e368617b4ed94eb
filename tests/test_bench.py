"""The benchmark compares like with like: its reference loop does genlab's arithmetic."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import fakedata
from conftest import BENCH, load_bench

@pytest.fixture(scope="module")
def bench_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Enough images for the benchmark's largest batch (256)."""
    return fakedata.write_idx_dataset(tmp_path_factory.mktemp("bench-idx"), n_train=300, n_test=32)


@pytest.mark.parametrize("micro_batches", [1, 2])
def test_reference_loop_and_genlab_reach_the_same_loss_from_the_same_weights(
    micro_batches: int, bench_data: Path, tmp_path: Path
) -> None:
    """Also when genlab computes each batch in two micro-batches (the reference never does)."""
    import tensorflow as tf

    bench = load_bench()
    overrides = [
        "model=ae",
        "latent_dim=4",
        "model.encoder.widths=[8,16]",
        "model.decoder.widths=[16,8]",
        "model.decoder.reshape_channels=8",
        "trainer.batch_size=16",
        f"dataset.path={bench_data}",
        "dataset.download=false",
        f"trainer.micro_batches={micro_batches}",
    ]
    steps = 7  # run as one compiled call by genlab, seven calls by the reference
    trainer = bench.make_trainer(overrides, tmp_path / "run")
    reference = bench.Reference(trainer)  # a copy of the untrained networks
    initial = trainer.model.encoder.get_weights()
    batches = [trainer.batches.batch(tf.constant(step, tf.int64)) for step in range(steps)]

    metrics = trainer.run_steps(steps)
    reference_loss = reference.run(tf.data.Dataset.from_tensor_slices(tf.stack(batches)))

    assert int(trainer.step.numpy()) == steps and trainer.trace_count == 1
    assert trainer.part_sizes == ((16,) if micro_batches == 1 else (8, 8))
    assert not np.allclose(initial[0], trainer.model.encoder.get_weights()[0])  # it did train
    np.testing.assert_allclose(reference_loss, metrics["loss"], rtol=1e-5)  # the mean over the seven steps
    for name, network in bench.Reference.networks(trainer.model).items():
        trained = bench.Reference.networks(reference.model)[name]
        for ours, theirs in zip(network.get_weights(), trained.get_weights()):
            np.testing.assert_allclose(theirs, ours, rtol=1e-4, atol=1e-6)


def test_quick_run_prints_the_table(bench_data: Path) -> None:
    """Two of the three settings (each starts two processes): a VAE and the GAN."""
    result = subprocess.run(
        [
            sys.executable,
            str(BENCH),
            "--quick",
            "--no-sample",
            "--setting=vae-b32",
            "--setting=dcgan",
            f"--data-path={bench_data}",
            "--override=dataset.download=false",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.splitlines()
    assert any(line.startswith("float32 matmul") for line in lines)
    for title in ("batch 32", "batch 256"):
        row = next(line for line in lines if title in line and "x " in line)
        assert "%" in row
    assert sum(line.startswith("input pipeline") for line in lines) == 2
    # each side says how its process ran: the reference with TensorFlow's default threads
    for title in ("batch 32", "batch 256"):
        how = next(line for line in lines if title in line and "reference intra-op" in line)
        assert "reference intra-op threads default" in how
