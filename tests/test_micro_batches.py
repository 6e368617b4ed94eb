"""trainer.micro_batches: a step's batch computed in parts gives the whole batch's update."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from conftest import run_genlab, tiny_train_args
from genlab.training import micro_batches
from genlab.errors import ConfigError
from test_train_cli import history

BATCHES = list(range(1, 40)) + [64, 100, 128, 256, 512, 1000]


@pytest.mark.parametrize("cores", [1, 2, 3, 8, 64])
def test_auto_splits_only_a_lone_cpu_into_parts_of_bounded_size(cores: int) -> None:
    for batch in BATCHES:
        assert micro_batches.plan(None, batch, batch_norm=True, on_cpu_alone=True, cores=cores).parts == 1
        assert micro_batches.plan(None, batch, batch_norm=False, on_cpu_alone=False, cores=cores).parts == 1
        plan = micro_batches.plan(None, batch, batch_norm=False, on_cpu_alone=True, cores=cores)
        if plan.parts == 1:
            assert plan.intra_op_threads is None  # TensorFlow's own threads for an unsplit batch
            continue
        side_by_side = min(plan.parts, cores)
        assert 2 <= plan.parts <= batch
        assert plan.intra_op_threads * side_by_side <= cores  # the parts never share a core's threads
        assert batch // side_by_side >= micro_batches.LANE_IMAGES  # every core gets a share worth having
        sizes = micro_batches.part_sizes(batch, plan.parts)
        assert max(sizes) <= micro_batches.PART_IMAGES or plan.parts >= 2 * micro_batches.PARTS_PER_LANE


def test_auto_splits_a_small_batch_on_two_cores() -> None:
    plan = micro_batches.plan(None, 32, batch_norm=False, on_cpu_alone=True, cores=2)
    assert (plan.parts, plan.intra_op_threads) == (2, 1)
    assert "2 micro-batches" in plan.describe()


def test_a_number_is_taken_as_given_with_the_cores_shared_out() -> None:
    assert micro_batches.plan(1, 64, batch_norm=True, on_cpu_alone=True, cores=8) == micro_batches.MicroBatchPlan(1, None)
    assert micro_batches.plan(2, 64, batch_norm=False, on_cpu_alone=True, cores=8).intra_op_threads == 4
    assert micro_batches.plan(4, 64, batch_norm=False, on_cpu_alone=True, cores=2).intra_op_threads == 1
    assert micro_batches.plan(4, 64, batch_norm=False, on_cpu_alone=False, cores=2).intra_op_threads is None


@pytest.mark.parametrize("batch", [1, 7, 16, 100])
def test_part_sizes_differ_by_at_most_one_and_cover_the_batch(batch: int) -> None:
    for parts in range(1, batch + 1):
        sizes = micro_batches.part_sizes(batch, parts)
        assert len(sizes) == parts and sum(sizes) == batch
        assert max(sizes) - min(sizes) <= 1 and min(sizes) >= 1
    with pytest.raises(ConfigError, match="cannot split a batch of"):
        micro_batches.part_sizes(batch, batch + 1)


def test_mean_over_uneven_parts_equals_the_whole_batch_in_value_and_gradient() -> None:
    import keras
    import tensorflow as tf

    network = keras.Sequential([keras.Input((5,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(3)])
    images = tf.random.stateless_normal([7, 5], seed=[1, 2])

    def metrics_of(batch: tf.Tensor) -> dict[str, tf.Tensor]:
        outputs = network(batch)
        return {"loss": tf.reduce_mean(tf.reduce_sum(tf.square(outputs), axis=1)), "peak": tf.reduce_mean(outputs)}

    def value_and_gradients(sizes: list[int]):
        with tf.GradientTape() as tape:
            metrics = micro_batches.mean_over_parts(metrics_of, images, sizes)
        return metrics, tape.gradient(metrics["loss"], network.trainable_variables)

    whole, whole_gradients = value_and_gradients([7])
    parts, part_gradients = value_and_gradients([3, 2, 2])
    assert whole.keys() == parts.keys()
    for name in whole:
        np.testing.assert_allclose(parts[name].numpy(), whole[name].numpy(), rtol=1e-6)
    assert any(np.abs(gradient.numpy()).max() > 0 for gradient in whole_gradients)
    for ours, theirs in zip(part_gradients, whole_gradients):
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-5, atol=1e-7)


# ----------------------------------------------------------------------------- through the CLI

@pytest.mark.slow
def test_micro_batches_follow_the_whole_batch_loss_curve(
    trained_runs: dict[str, Path], idx_dataset_args: list[str], tmp_path: Path
) -> None:
    """The AE is deterministic: three uneven parts (6, 5, 5 images) give the batch of 16's updates."""
    run_dir = tmp_path / "run"
    args = tiny_train_args("ae", idx_dataset_args) + ["trainer.micro_batches=3"]
    result = run_genlab(*args, f"hydra.run.dir={run_dir}", cwd=tmp_path)
    assert result.returncode == 0, result.output
    assert "3 micro-batches side by side" in result.output
    whole = [entry["loss"] for entry in history(trained_runs["ae"])]
    split = [entry["loss"] for entry in history(run_dir)]
    assert len(split) == len(whole) and split[-1] < split[0]
    np.testing.assert_allclose(split, whole, rtol=1e-4)


@pytest.mark.slow
def test_auto_splits_a_batch_of_32_when_the_process_has_two_cores(idx_dataset_args: list[str], tmp_path: Path) -> None:
    """A sweep's second job (batch 16, never split) runs with the threads its first job set, and says so."""
    sweep = tmp_path / "sweep"
    args = tiny_train_args("vae", idx_dataset_args, steps=10)[1:]
    args = [arg for arg in args if not arg.startswith("trainer.batch_size=")]
    result = run_genlab(
        "train", "-m", *args, "trainer.batch_size=32,16", f"hydra.sweep.dir={sweep}", "hydra.sweep.subdir=b${trainer.batch_size}",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.output
    expected = micro_batches.plan(None, 32, batch_norm=False, on_cpu_alone=True, cores=micro_batches.available_cores())
    split_log, whole_log = (sweep / "b32" / "train.log").read_text(), (sweep / "b16" / "train.log").read_text()
    assert ("micro-batches side by side" in split_log) == (expected.parts > 1)
    if expected.parts > 1:
        assert f"{expected.parts} micro-batches side by side" in split_log
        assert f"an earlier job of this process set TensorFlow to {expected.intra_op_threads} intra-op thread(s)" in whole_log
    assert "micro-batches side by side" not in whole_log
    assert np.isfinite(history(sweep / "b32")[-1]["loss"]) and np.isfinite(history(sweep / "b16")[-1]["loss"])


@pytest.mark.slow
def test_micro_batches_with_batch_norm_are_refused_before_any_work(tmp_path: Path) -> None:
    result = run_genlab("train", "model=gan", "trainer.micro_batches=2", cwd=tmp_path)
    assert result.returncode != 0
    assert "trainer.micro_batches=2" in result.output and "batch norm" in result.output
    assert "Traceback" not in result.output
    assert not list(tmp_path.glob("outputs/*/*/.hydra/config.yaml"))
