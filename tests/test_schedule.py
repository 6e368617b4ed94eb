"""How long a run trains and where its compiled calls end (genlab.training.schedule), without TensorFlow."""
from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import run_genlab
from genlab.config.schema import TrainerConfig
from genlab.errors import ConfigError
from genlab.training.schedule import AUTO_LOOP_STEPS, describe_budget, loop_length, total_steps


def call_ends(trainer: TrainerConfig, total: int, start: int = 0) -> list[int]:
    """The step each compiled call of a run from ``start`` to ``total`` ends at."""
    ends, step = [], start
    while step < total:
        length = loop_length(step, total, trainer)
        assert length >= 1
        step += length
        ends.append(step)
    return ends


def due_steps(trainer: TrainerConfig, total: int) -> set[int]:
    intervals = (trainer.log_every, trainer.image_every, trainer.checkpoint_every)
    return {step for step in range(1, total + 1) if any(step % interval == 0 for interval in intervals)} | {total}


def test_the_default_runs_calls_of_50_steps_as_before() -> None:
    trainer = TrainerConfig()
    assert trainer.steps_per_loop == "auto"
    assert call_ends(trainer, trainer.steps) == list(range(50, 2001, 50))


@pytest.mark.parametrize(
    "intervals",
    [dict(log_every=10), dict(log_every=7), dict(log_every=1), dict(log_every=30, image_every=45, checkpoint_every=1000)],
)
def test_auto_ends_a_call_at_every_step_something_is_due(intervals: dict) -> None:
    trainer = TrainerConfig(**intervals)
    ends = call_ends(trainer, 1234)
    assert due_steps(trainer, 1234) <= set(ends)  # every log, picture and checkpoint step is a call's end
    assert all(later - earlier <= AUTO_LOOP_STEPS for earlier, later in zip([0, *ends], ends))


@settings(max_examples=200, deadline=None)
@given(
    log_every=st.integers(1, 400),
    image_every=st.integers(1, 400),
    checkpoint_every=st.integers(1, 400),
    total=st.integers(1, 3000),
    start=st.integers(0, 3000),
)
def test_auto_calls_are_as_long_as_the_intervals_allow(
    log_every: int, image_every: int, checkpoint_every: int, total: int, start: int
) -> None:
    trainer = TrainerConfig(log_every=log_every, image_every=image_every, checkpoint_every=checkpoint_every)
    start = min(start, total - 1)  # a resumed run starts anywhere
    ends = call_ends(trainer, total, start)
    due = {step for step in due_steps(trainer, total) if step > start}
    assert due <= set(ends)
    # a call ends early only where something is due
    assert all(end in due or end - begin == AUTO_LOOP_STEPS for begin, end in zip([start, *ends], ends))


def test_a_fixed_loop_length_is_kept_and_must_divide_every_interval() -> None:
    trainer = TrainerConfig(steps_per_loop=25, log_every=50)
    assert call_ends(trainer, 110) == [25, 50, 75, 100, 110]
    with pytest.raises(ConfigError, match=r"trainer\.log_every must be a multiple of trainer\.steps_per_loop \(25\)"):
        TrainerConfig(steps_per_loop=25, log_every=10)


@pytest.mark.parametrize("value", ["0", "-3", "many", "2.5", ""])
def test_a_loop_length_that_is_not_auto_or_a_count_is_refused(value: str) -> None:
    with pytest.raises(ConfigError, match=r"trainer.steps_per_loop must be one of auto, 1, 2, 3"):
        TrainerConfig(steps_per_loop=value)


def test_the_budget_says_steps_epochs_and_where_they_come_from() -> None:
    by_steps = TrainerConfig(steps=2000, batch_size=128)
    assert describe_budget(by_steps, 60000) == "2000 steps of batch 128 (4.27 epochs of 60000 images; trainer.steps)"
    by_epochs = TrainerConfig(epochs=5, batch_size=100)
    assert total_steps(by_epochs, 60000) == 3000
    assert describe_budget(by_epochs, 60000) == "3000 steps of batch 100 (5 epochs of 60000 images; trainer.epochs=5)"


def test_steps_typed_after_a_preset_with_epochs_win(idx_dataset_args: list[str], tmp_path: Path) -> None:
    """experiment=fashion_vae sets trainer.epochs; trainer.steps on the command line replaces it, both at once are refused."""
    preset = ["experiment=fashion_vae", *idx_dataset_args, "trainer.batch_size=16", "trainer.num_images=4"]
    run_dir = tmp_path / "run"
    result = run_genlab("train", *preset, "trainer.steps=3", f"hydra.run.dir={run_dir}", cwd=tmp_path)
    assert result.returncode == 0, result.output
    first_line = result.stderr.splitlines()[0]
    assert first_line == "training vae on mnist 32x32x1: 3 steps of batch 16 (0.5 epochs of 96 images; trainer.steps)"
    assert sorted(path.name for path in (run_dir / "checkpoints").glob("*.index")) == ["ckpt-3.index"]

    both = run_genlab("train", *preset, "trainer.steps=3", "trainer.epochs=2", f"hydra.run.dir={tmp_path / 'both'}", cwd=tmp_path)
    assert both.returncode == 2
    assert both.stderr.strip() == (
        "genlab: error: trainer.steps=3 and trainer.epochs=2.0 both set how long the run trains; give one of them"
    )
    assert not any((tmp_path / "both").iterdir())  # named on the command line: kept, but empty

    # a resumed run given more steps trains to them, though it was started by epochs
    epochs_run = tmp_path / "epochs"
    started = run_genlab("train", *preset, "trainer.epochs=0.5", f"hydra.run.dir={epochs_run}", cwd=tmp_path)
    assert started.returncode == 0, started.output
    assert "3 steps of batch 16 (0.5 epochs of 96 images; trainer.epochs=0.5)" in started.stderr.splitlines()[0]
    resumed = run_genlab("train", f"resume={epochs_run}", "trainer.steps=5", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.output
    assert "5 steps of batch 16" in resumed.stderr.splitlines()[0]
    assert (epochs_run / "checkpoints" / "ckpt-5.index").exists()


def test_a_batch_larger_than_the_training_set_is_refused_before_tensorflow(idx_dataset_args: list[str], tmp_path: Path) -> None:
    result = run_genlab("train", *idx_dataset_args, "trainer.batch_size=128", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "genlab: error: trainer.batch_size must not exceed the number of training images (96) (got 128)"
    )
    assert not (tmp_path / "outputs").exists()
