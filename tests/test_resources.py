"""The resource check: the estimate against the networks Keras builds, the rule, and `genlab train` refusing."""
from __future__ import annotations

import dataclasses
import functools
import time
from pathlib import Path

import pytest
from hydra import compose, initialize_config_module

from conftest import run_genlab, tiny_train_args
from genlab.training import resources
from genlab.config.checks import validate
from genlab.config.store import register_schemas
from genlab.errors import ConfigError, GenlabError
from genlab.rundir.layout import register_resolvers
from test_presets import PRESETS, experiment_override

register_schemas()
register_resolvers()

NATIVE_SHAPES = {"mnist": (28, 28, 1), "fashion_mnist": (28, 28, 1), "cifar10": (32, 32, 3), "olivetti": (64, 64, 1)}
TINY_NETS = {
    "ae": ["model.encoder.widths=[4,8]", "model.decoder.widths=[8,4]", "model.decoder.reshape_channels=6"],
    "vae": ["model.encoder.widths=[4,8,8]", "model.decoder.widths=[8,4]", "model.decoder.reshape_channels=6"],
    "gan": ["model.generator.widths=[8,4]", "model.generator.reshape_channels=6", "model.discriminator.widths=[4,8]"],
}
BATCH_NORM = {
    "ae": ["model.encoder.batch_norm=true", "model.decoder.batch_norm=true"],
    "vae": ["model.encoder.batch_norm=true", "model.decoder.batch_norm=true"],
    "gan": ["model.generator.batch_norm=true", "model.discriminator.batch_norm=true"],
}
# (model, image shape, batch norm, optimizer overrides): odd sizes make the decoder crop
CASES = [
    pytest.param(model, shape, batch_norm, optimizer, id=f"{model}-{shape[0]}x{shape[1]}x{shape[2]}-bn={batch_norm}")
    for model in ("ae", "vae", "gan")
    for (shape, batch_norm, optimizer) in [
        ((28, 28, 1), False, ["optimizer=adam"]),
        ((30, 20, 3), True, ["optimizer=rmsprop", "optimizer.momentum=0.9"]),
        ((9, 9, 1), model != "gan", ["optimizer=sgd", "optimizer.momentum=0"]),
    ]
]


def compose_train(overrides: list[str]):
    with initialize_config_module(config_module="genlab.conf", version_base="1.3"):
        return validate(compose(config_name="train", overrides=overrides))


def image_shape_of(config) -> tuple[int, int, int]:
    """The shape the preset's data set loads as, without loading it."""
    height, width, channels = NATIVE_SHAPES.get(config.dataset.name, (None, None, 3))
    size = config.dataset.image_size
    return (size or height, size or width, config.dataset.channels or channels)


def assert_estimate_is_what_keras_builds(config, image_shape: tuple[int, int, int]) -> None:
    from genlab.config.schema import average_decay
    from genlab.models import build_model
    from genlab.models.optimizers import build_optimizer
    from genlab.models.weight_average import WeightAverage

    conditional = getattr(getattr(config.model, "condition", None), "enabled", False)
    names = [f"class {index}" for index in range(CONDITIONS)] if conditional else []
    model = build_model(config.model, image_shape, lambda: build_optimizer(config.optimizer), names)
    model.build_optimizers()
    built = model.trackables()
    decay = average_decay(config)
    if decay is not None:  # the trainer's weight average: a copy of each sampling network
        built.update(WeightAverage(model, decay).trackables())
    estimated = resources.network_params(config.model, image_shape, condition_dim=len(names))
    for name, layers in estimated.items():
        network = built[name]
        assert sum(layer.total for layer in layers) == network.count_params(), name
        assert sum(layer.trainable for layer in layers) == sum(int(w.numpy().size) for w in network.trainable_weights)
    trainable = sum(layer.trainable for layers in estimated.values() for layer in layers)
    optimizers = [value for key, value in built.items() if key.endswith("optimizer")]
    slots = sum(int(v.numpy().size) for optimizer in optimizers for v in optimizer.variables if len(v.shape) > 0)
    assert slots == resources.slots_per_weight(config.optimizer) * trainable


@pytest.mark.parametrize(("model", "shape", "batch_norm", "optimizer"), CASES)
def test_estimate_counts_the_parameters_and_slots_keras_builds(
    model: str, shape: tuple[int, int, int], batch_norm: bool, optimizer: list[str]
) -> None:
    overrides = [f"model={model}", "latent_dim=3", *TINY_NETS[model], *optimizer]
    config = compose_train(overrides + (BATCH_NORM[model] if batch_norm else []))
    assert_estimate_is_what_keras_builds(config, shape)


CONDITIONS = 7  # classes of a conditional model's data set here


@pytest.mark.parametrize(
    "overrides",
    [
        ["model=vae", "condition=class"],
        ["model=ae", "condition=class", "model.condition.embedding_dim=5", "model.decoder.widths=[]"],
        ["model=gan", "condition=class"],
        ["model=gan", "condition=class", "model.condition.discriminator=concat", "model.condition.embedding_dim=3"],
        ["model=gan", "condition=class", "model.discriminator.spectral_norm=true", "model.generator.spectral_norm=true",
         "model.condition.embedding_dim=4", "model.ema_decay=0.9"],
        ["model=vae", "condition=class", "trainer.ema_decay=0.99"],
    ],
    ids=["cvae-one-hot", "cae-embedding-dense-decoder", "cgan-projection", "cgan-concat-embedding", "cgan-sn-ema", "cvae-ema"],
)
def test_estimate_counts_conditional_networks_exactly(overrides: list[str]) -> None:
    config = compose_train(["latent_dim=3", *overrides])
    assert_estimate_is_what_keras_builds(config, (28, 28, 1))


@pytest.mark.parametrize("name", PRESETS)
def test_estimate_counts_every_preset_exactly(name: str) -> None:
    config = compose_train([experiment_override(name), "latent_dim=8"])
    assert_estimate_is_what_keras_builds(config, image_shape_of(config))


def test_estimate_names_the_key_that_makes_the_model_large() -> None:
    def cause(*overrides: str, shape=(28, 28, 1)) -> str:
        return resources.estimate(compose_train(["dataset=mnist", *overrides]), shape).cause

    assert cause("latent_dim=100000") == "latent_dim=100000"
    assert cause("model=gan", "model.latent_dim=100000") == "model.latent_dim=100000"
    assert cause("model.encoder.widths=[32,4096]") == "model.encoder.widths=[32, 4096]"
    assert cause("dataset.image_size=1024", shape=(1024, 1024, 1)) == "dataset.image_size=1024"
    assert cause(shape=(2000, 2000, 1)) == "dataset.image_size=null (2000x2000 images)"


# ----------------------------------------------------------------------------- the rule


@functools.cache
def reported_footprint() -> resources.Footprint:
    """`genlab train latent_dim=100000` on 28x28 images."""
    return resources.estimate(compose_train(["dataset=mnist", "latent_dim=100000"]), (28, 28, 1))


def big_footprint(**changes) -> resources.Footprint:
    return dataclasses.replace(reported_footprint(), **changes)


def test_memory_that_cannot_hold_the_weights_gradients_and_slots_is_refused() -> None:
    footprint = big_footprint()
    assert (footprint.parameters, footprint.trainable, footprint.memory_bytes) == (784257633, 784257633, 12548122128)
    message = resources.refusal(footprint, resources.Machine(7_800_000_000, 10**13, Path("/runs")), 4)
    assert message == (
        "latent_dim=100000: the model's 784,257,633 parameters need 12.5 GB of memory for weights, gradients "
        "and Adam's slots, but 7.8 GB is available; make latent_dim smaller, or pass "
        "trainer.check_resources=false to start anyway"
    )
    mirrored = resources.refusal(big_footprint(copies=2), resources.Machine(20 * 10**9, 10**13, Path("/runs")), 4)
    assert "need 25.1 GB of memory for weights, gradients and Adam's slots, mirrored on 2 devices" in mirrored


def test_a_checkpoint_set_that_cannot_fit_on_the_disk_is_refused() -> None:
    footprint = big_footprint()
    assert footprint.checkpoint_bytes == 9411091596  # weights and Adam's two slots
    machine = resources.Machine(64 * 10**9, 20_100_000_000, Path("/runs/vae"))
    assert resources.refusal(footprint, machine, 4) == (
        "latent_dim=100000: 4 checkpoints of 9.4 GB (trainer.max_to_keep=3 and the one being written) need "
        "37.6 GB of disk, but 20.1 GB is free in /runs/vae; make latent_dim or trainer.max_to_keep smaller, "
        "or pass trainer.check_resources=false to start anyway"
    )
    assert resources.refusal(footprint, machine, 2) is None  # a resumed run with two checkpoints already there
    assert resources.refusal(footprint, resources.Machine(64 * 10**9, 9 * 10**9, Path("/tmp")), 1).endswith(
        "a checkpoint needs 9.4 GB of disk, but 9.0 GB is free in /tmp; make latent_dim or trainer.max_to_keep "
        "smaller, or pass trainer.check_resources=false to start anyway"
    )


def test_what_fits_or_cannot_be_told_passes() -> None:
    footprint = big_footprint()
    just_enough = resources.Machine(footprint.memory_bytes, 4 * footprint.checkpoint_bytes, Path("."))
    assert resources.refusal(footprint, just_enough, 4) is None
    assert resources.refusal(footprint, resources.Machine(None, 10**13, Path(".")), 4) is None
    sgd = big_footprint(slots_per_weight=0, optimizer="SGD")
    message = resources.refusal(sgd, resources.Machine(10**9, 10**13, Path(".")), 4)
    assert "the model's 784,257,633 parameters need 6.3 GB of memory for weights and gradients, but" in message


def test_the_default_config_passes_on_this_machine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(resources.MEMORY_LIMIT_VARIABLE, raising=False)
    resources.check_resources(compose_train([]), (28, 28, 1), tmp_path, owns_run_dir=True)


def test_the_bypass_key_goes_past_the_check(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(resources.MEMORY_LIMIT_VARIABLE, "1kB")
    with pytest.raises(GenlabError, match=r"but 1\.0 kB is available"):
        resources.check_resources(compose_train([]), (28, 28, 1), tmp_path, owns_run_dir=True)
    bypassed = compose_train(["trainer.check_resources=false"])
    resources.check_resources(bypassed, (28, 28, 1), tmp_path, owns_run_dir=True)


def test_checkpoints_to_write_count_those_on_disk_and_where_each_worker_saves(tmp_path: Path) -> None:
    assert resources.checkpoint_writes(tmp_path, 3, owns_run_dir=True) == (4, tmp_path)
    (tmp_path / "checkpoints").mkdir()
    for step in (10, 20):
        (tmp_path / "checkpoints" / f"ckpt-{step}.index").write_bytes(b"")
    assert resources.checkpoint_writes(tmp_path, 3, owns_run_dir=True) == (2, tmp_path)
    assert resources.checkpoint_writes(tmp_path, 1, owns_run_dir=True) == (1, tmp_path)
    count, where = resources.checkpoint_writes(tmp_path, 3, owns_run_dir=False)  # a worker's scratch saves
    assert count == 1 and where != tmp_path


# ----------------------------------------------------------------------------- the machine


def test_available_memory_reads_meminfo_cgroups_and_the_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    meminfo = tmp_path / "meminfo"
    meminfo.write_text("MemTotal:       24683584 kB\nMemFree:  100 kB\nMemAvailable:   7617188 kB\n")
    assert resources._meminfo_available(meminfo) == 7617188 * 1024

    # cgroup v2: a job limited to 4 GB inside an unlimited parent; page cache it can reclaim counts as free
    root = tmp_path / "cgroup"
    job = root / "jobs" / "42"
    job.mkdir(parents=True)
    (root / "jobs" / "memory.max").write_text("max\n")
    (root / "jobs" / "memory.current").write_text("9000000000\n")
    (job / "memory.max").write_text("4000000000\n")
    (job / "memory.current").write_text("3000000000\n")
    (job / "memory.stat").write_text("anon 2000000000\ninactive_file 500000000\n")
    proc = tmp_path / "proc-cgroup"
    proc.write_text("0::/jobs/42\n")
    assert resources._cgroup_room(proc, root) == 1_500_000_000
    # cgroup v1 without a limit (the kernel writes a number near 2**63)
    (root / "memory").mkdir()
    (root / "memory" / "memory.limit_in_bytes").write_text("9223372036854771712\n")
    (root / "memory" / "memory.usage_in_bytes").write_text("10598588416\n")
    proc.write_text("4:memory:/\n1:cpu:/\n")
    assert resources._cgroup_room(proc, root) is None

    monkeypatch.setenv(resources.MEMORY_LIMIT_VARIABLE, "2.5GB")
    assert resources.available_memory() <= 2_500_000_000
    sizes = [resources.parse_size(text, "X") for text in ("8G", "512mb", "123", "1.5 kB")]
    assert sizes == [8 * 10**9, 512 * 10**6, 123, 1500]
    with pytest.raises(ConfigError, match=r"GENLAB_MEMORY_LIMIT='lots' is not a size"):
        resources.parse_size("lots", resources.MEMORY_LIMIT_VARIABLE)


# ----------------------------------------------------------------------------- through the CLI


def error_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("genlab: error:")]


def test_train_refuses_a_latent_dim_that_cannot_fit_before_tensorflow(
    idx_dataset_args: list[str], tmp_path: Path
) -> None:
    started = time.perf_counter()
    limit = {"GENLAB_MEMORY_LIMIT": "8GB"}  # the machine of the report; this one may have more
    # batch 16: the 96 training images of the fixture hold no batch of the default 128
    result = run_genlab("train", *idx_dataset_args, "latent_dim=100000", "trainer.batch_size=16", cwd=tmp_path, env=limit)
    elapsed = time.perf_counter() - started
    assert result.returncode == 2, result.output
    assert error_lines(result.output) == [
        "genlab: error: latent_dim=100000: the model's 784,257,633 parameters need 12.5 GB of memory for weights, "
        "gradients and Adam's slots, but 8.0 GB is available; make latent_dim smaller, or pass "
        "trainer.check_resources=false to start anyway"
    ]
    assert "Traceback" not in result.output
    assert not (tmp_path / "outputs").exists()
    assert elapsed < 20  # no TensorFlow, no 12 GB of weights: Hydra's start-up and the data only


def test_the_check_runs_on_resume_and_the_bypass_key_starts_anyway(idx_dataset_args: list[str], tmp_path: Path) -> None:
    tight = {"GENLAB_MEMORY_LIMIT": "100kB"}
    args = tiny_train_args("vae", idx_dataset_args, steps=10)
    footprint = resources.estimate(compose_train(args[1:]), (28, 28, 1))
    assert footprint.parameters == 11889 and footprint.memory_bytes > 100_000
    refused = run_genlab(*args, cwd=tmp_path, env=tight)
    assert refused.returncode == 2, refused.output
    [line] = error_lines(refused.output)
    assert line == "genlab: error: " + resources.refusal(footprint, resources.Machine(100_000, 10**15, tmp_path), 4)
    assert not (tmp_path / "outputs").exists()

    run_dir = tmp_path / "run"
    bypassed = run_genlab(*args, "trainer.check_resources=false", f"hydra.run.dir={run_dir}", cwd=tmp_path, env=tight)
    assert bypassed.returncode == 0, bypassed.output
    checkpoints = sorted((run_dir / "checkpoints").iterdir())
    assert any(path.name == "ckpt-10.index" for path in checkpoints)

    stamps = {path: path.stat().st_mtime_ns for path in checkpoints}
    # the run keeps trainer.check_resources=false in its saved config, like any trainer key, until told otherwise
    resumed = run_genlab(
        "train", f"resume={run_dir}", "trainer.steps=20", "trainer.check_resources=true", cwd=tmp_path, env=tight
    )
    assert resumed.returncode == 2, resumed.output
    assert error_lines(resumed.output) == [line]
    assert {path: path.stat().st_mtime_ns for path in sorted((run_dir / "checkpoints").iterdir())} == stamps


def test_a_model_the_config_does_not_describe_is_counted_on_its_built_networks() -> None:
    """A plug-in (mlp_vae) is never skipped: its networks are built (in a graph, nothing allocated) and counted."""
    from genlab.models import build_model
    from genlab.models.optimizers import build_optimizer

    config = compose_train(["model=mlp_vae", "latent_dim=3", "model.hidden_units=[7]", "trainer.ema_decay=0.9"])
    footprint = resources.estimate(config, (5, 4, 1))
    model = build_model(config.model, (5, 4, 1), lambda: build_optimizer(config.optimizer))
    weights = sum(network.count_params() for network in model.networks().values())
    assert footprint.parameters == weights == (20 * 7 + 7 + 7 * 6 + 6) + (3 * 7 + 7 + 7 * 20 + 20)
    assert footprint.trainable == weights and footprint.cause == "model=mlp_vae"
    assert "make the model's sizes (model.*) smaller" in resources.refusal(footprint, resources.Machine(1000, 10**12, Path(".")), 1)
