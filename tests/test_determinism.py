"""trainer.deterministic (the default): every run of a config ends with the same bits, interrupted or not."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from conftest import GENLAB, TEST_CONFIGS, TINY_MODEL, checkpoint_values, kill_at_checkpoint, run_genlab, train_presets
from genlab.training.micro_batches import available_cores

tf = pytest.importorskip("tensorflow")

from tensorflow.core.protobuf import config_pb2  # noqa: E402
from tensorflow.python.grappler import tf_optimizer  # noqa: E402

from genlab.models.determinism import ordered_sum  # noqa: E402


def test_ordered_sums_do_not_depend_on_which_terms_are_still_in_use() -> None:
    """AddN's rounding changes with which input buffer it may reuse; ordered_sum's does not."""
    rng = np.random.default_rng(0)
    terms = [tf.constant(rng.normal(size=100_000).astype(np.float32) * 10.0**power) for power in (0, 3, 0, 5)]

    @tf.function
    def total(scale, keep_first_terms):
        scaled = [term * scale for term in terms]  # fresh buffers the sum may reuse
        kept = (scaled[0], scaled[1]) if keep_first_terms else (tf.constant(0.0), tf.constant(0.0))
        return ordered_sum(scaled), kept

    one = tf.constant(1.0)
    np.testing.assert_array_equal(total(one, True)[0].numpy(), total(one, False)[0].numpy())


def optimized_add_inputs(trainer) -> list[int]:
    """Input counts of every AddN in the training loop once grappler has optimized it, as TensorFlow runs it."""
    images = tf.TensorSpec([], tf.int64)
    concrete = trainer._train_loops[0].get_concrete_function(images)
    graph = concrete.graph
    meta_graph = tf.compat.v1.train.export_meta_graph(graph_def=graph.as_graph_def(add_shapes=True), graph=graph)
    fetches = meta_graph.collection_def["train_op"].node_list.value
    fetches.extend(output.name for output in concrete.outputs)
    optimized = tf_optimizer.OptimizeGraph(config_pb2.ConfigProto(), meta_graph, graph_id=b"step")
    nodes = list(optimized.node) + [node for function in optimized.library.function for node in function.node_def]
    return [len([name for name in node.input if not name.startswith("^")]) for node in nodes if node.op == "AddN"]


LOOP_CASES = {
    "default vae": ["model=vae"],
    "gan without batch norm": ["model=gan", "model.generator.batch_norm=false"],
    "ae in 3 uneven parts": ["model=ae", "trainer.micro_batches=3", "trainer.batch_size=100"],
}


@pytest.mark.parametrize("overrides", LOOP_CASES.values(), ids=LOOP_CASES.keys())
def test_no_sum_of_more_than_two_terms_is_left_to_addn(overrides: list[str], idx_256_args: list[str], tmp_path: Path) -> None:
    from test_config import compose_train

    from genlab.config.checks import validate
    from genlab.training.trainer import Trainer

    base = [*idx_256_args, *overrides, "trainer.micro_batches=4" if "trainer.micro_batches=3" not in overrides else ""]
    for deterministic in (False, True):
        config = validate(compose_train([item for item in base if item] + [f"trainer.deterministic={deterministic}"]))
        trainer = Trainer(config, tmp_path / str(deterministic))
        counts = optimized_add_inputs(trainer)
        if deterministic:
            assert all(count <= 2 for count in counts), counts
        else:  # TensorFlow's own aggregation: the parts' gradients meet in AddN
            assert max(counts, default=0) >= 3, counts


# Presets of tests/conf/experiment: what users run by default, and the splits that could round differently.
# A process's TensorFlow threads are set once, by its first job (micro-batches run one thread per op): each
# group shares its setting with a run of its own, so a sweep of one group is comparable to a run on its own.
SPLIT = ["default_vae", "tiny_gan_no_bn_b128", "tiny_vae_3_parts"]
WHOLE = ["tiny_ae", "tiny_gan", "tiny_wgan_gp", "tiny_dense_ae"]
REPRODUCED = SPLIT + WHOLE
STEPS = 20
RUN_ARGS = [
    f"trainer.checkpoint_every={STEPS // 4}",
    f"trainer.log_every={STEPS // 4}",
    f"trainer.image_every={STEPS}",
    "trainer.num_images=16",
    "seed=3",
]


@pytest.fixture(scope="module")
def uninterrupted_runs(idx_256_args: list[str], tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[Path]]:
    """Each preset trained twice, uninterrupted, by sweeps that train their group in opposite orders."""
    workdir = tmp_path_factory.mktemp("uninterrupted")
    runs: dict[str, list[Path]] = {preset: [] for preset in REPRODUCED}
    for group in (SPLIT, WHOLE):
        for name, order in (("first", group), ("again", list(reversed(group)))):
            sweep = workdir / f"{name}-{group[0]}"
            trained = train_presets(order, *idx_256_args, *RUN_ARGS, f"trainer.steps={STEPS}", sweep=sweep, cwd=workdir)
            for preset, run_dir in trained.items():
                runs[preset].append(run_dir)
    return runs


@pytest.mark.slow
@pytest.mark.parametrize("preset", REPRODUCED)
def test_two_uninterrupted_runs_end_with_the_same_bits(preset: str, uninterrupted_runs: dict[str, list[Path]]) -> None:
    """Whatever the process trained before (a sweep's earlier jobs), nothing carries over."""
    if preset in ("default_vae", "tiny_gan_no_bn_b128") and available_cores() >= 2:  # the default batch, split
        assert "4 micro-batches side by side" in (uninterrupted_runs[preset][0] / "train.log").read_text()
    assert_same_checkpoints(uninterrupted_runs[preset])


def _history_steps(run_dir: Path) -> list[int]:
    return [json.loads(line)["step"] for line in (run_dir / "history.jsonl").read_text().splitlines()]


@pytest.mark.slow
@pytest.mark.parametrize("preset", ["default_vae", "tiny_ae", "tiny_gan_no_bn_b128", "tiny_vae_3_parts", "tiny_wgan_gp"])
def test_a_run_killed_and_resumed_ends_with_the_bits_of_an_uninterrupted_one(
    preset: str, uninterrupted_runs: dict[str, list[Path]], idx_256_args: list[str], tmp_path: Path
) -> None:
    """kill -9 after the first checkpoint of a run with a long budget, then resume it to the same step."""
    killed = tmp_path / "killed"
    command = [GENLAB, "train", f"experiment={preset}", f"hydra.searchpath=[file://{TEST_CONFIGS}]"]
    command += [*idx_256_args, *RUN_ARGS, "trainer.steps=100000", f"hydra.run.dir={killed}"]
    kill_at_checkpoint(command, killed / "checkpoints" / f"ckpt-{STEPS // 4}", tmp_path)
    resumed = run_genlab("train", f"resume={killed}", f"trainer.steps={STEPS}", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.output
    assert "resuming from" in resumed.output
    assert _history_steps(killed) == [STEPS // 4 * index for index in (1, 2, 3, 4)]
    assert_same_checkpoints([uninterrupted_runs[preset][0], killed])


def assert_same_checkpoints(run_dirs: list[Path]) -> None:
    first = checkpoint_values(run_dirs[0])
    assert len(first) > 10
    for other in run_dirs[1:]:
        values = checkpoint_values(other)
        assert values.keys() == first.keys()
        for name in first:
            assert np.array_equal(first[name], values[name]), (other, name)


@pytest.mark.slow
def test_two_runs_mirrored_over_four_cpu_devices_end_with_the_same_bits(idx_256_args: list[str], tmp_path: Path) -> None:
    """Four replicas' gradients are reduced in replica order (two could not show it: a + b == b + a)."""
    sweep = tmp_path / "sweep"
    args = [*idx_256_args, "model=vae", "latent_dim=4", *TINY_MODEL["vae"], "trainer.batch_size=16", "trainer.cpu_devices=4"]
    twice = run_genlab(
        "train", "-m", *args, "trainer.steps=10,10", "trainer.checkpoint_every=10",
        f"hydra.sweep.dir={sweep}", "hydra.sweep.subdir=job${hydra.job.num}", cwd=tmp_path,
    )
    assert twice.returncode == 0, twice.output
    assert "mirrored over 4 replicas" in twice.output
    assert_same_checkpoints([sweep / "job0", sweep / "job1"])
