"""Training throughput of genlab against the classic TensorFlow-tutorial loop, side by side.

For each setting the benchmark builds genlab's Trainer (the object `genlab train`
runs) on Fashion-MNIST and, in the same benchmark run, the loop of the TensorFlow
tutorials: a ``@tf.function`` train step called once per batch of a
``from_tensor_slices(float32).shuffle().batch()`` pipeline, with the same networks
(same builder, same initial weights, Keras' own layers and optimizer), batch size
and settings. Rounds alternate genlab, the reference and genlab on one batch held
in memory, each round starting with the next one; the table shows medians (ratios:
the median of the ratios within each round).

genlab is timed through ``Trainer.run_steps`` (the compiled calls ``train`` makes,
without the pictures and checkpoints it writes between them); one run of
``Trainer.train`` itself is shown beside it. The reference keeps one iterator over
the repeated pipeline, so it fills its shuffle buffer once, during warm-up. It
computes in float32 as the tutorials do; genlab in whatever ``trainer.precision``
gives.

The two sides run in two processes that take turns (never at the same time),
because TensorFlow fixes its thread settings once per process: genlab's is
configured as `genlab train` configures itself (genlab.training.micro_batches), the
reference's keeps TensorFlow's defaults, as a tutorial script does.
``--intra-op``/``--inter-op`` apply to both (genlab then cannot choose its own).

Training FLOPs per image are counted from the networks (genlab.training.flops) and
compared with the float32 matrix-multiply rate measured here. The header says how
much CPU time other processes took while measuring: figures taken on a busy
machine are not comparable.

    scripts/bench.sh                          # the table (several minutes on 2 cores)
    scripts/bench.sh --quick                  # a smoke run: few steps, one round
    scripts/bench.sh --setting dcgan --override trainer.hand_written_kernels=[]
"""
from __future__ import annotations

import argparse
import itertools
import json
import multiprocessing
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Setting:
    title: str
    overrides: list[str]
    round_steps: int  # optimizer steps per timed round
    quick_steps: int = 2


# Network sizes from the TensorFlow CVAE and DCGAN tutorials and the course slides.
SETTINGS = {
    "vae-b32": Setting(
        "VAE, TF CVAE tutorial nets, batch 32",
        [
            "model=vae",
            "latent_dim=2",
            "dataset.binarize=true",  # the tutorial's Bernoulli data
            "model.encoder.widths=[32,64]",
            "model.decoder.widths=[64,32]",
            "model.decoder.reshape_channels=32",
            "trainer.batch_size=32",
            "optimizer.learning_rate=1e-4",
        ],
        round_steps=400,
    ),
    "vae-b100": Setting(
        "VAE, course 32x32 nets, batch 100",
        [
            "model=vae",
            "latent_dim=2",
            "dataset.image_size=32",
            "model.encoder.widths=[32,64,128]",
            "model.decoder.widths=[128,64,32]",
            "model.decoder.reshape_channels=128",
            "trainer.batch_size=100",  # Adam at its default 1e-3, as in the slides
        ],
        round_steps=150,
    ),
    "dcgan": Setting(
        "DCGAN tutorial nets, batch 256",
        [
            "model=gan",
            "latent_dim=100",
            "trainer.batch_size=256",
            "optimizer.learning_rate=1e-4",
        ],
        round_steps=30,
    ),
}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run: few steps, one round, small matmul")
    parser.add_argument("--rounds", type=int, default=None, help="alternating rounds per setting (default 6, quick 1)")
    parser.add_argument("--steps-scale", type=float, default=1.0, help="multiply every setting's steps per round")
    parser.add_argument("--setting", action="append", choices=sorted(SETTINGS), help="run only these (repeatable)")
    parser.add_argument("--override", action="append", default=[], help="a genlab override for every setting")
    parser.add_argument("--data-path", default=None, help="dataset.path for every setting (default: the usual places)")
    parser.add_argument("--intra-op", type=int, default=None, help="tf.config intra-op threads (default: TF's)")
    parser.add_argument("--inter-op", type=int, default=None, help="tf.config inter-op threads (default: TF's)")
    parser.add_argument("--no-input", action="store_true", help="skip the batch-in-memory variant")
    parser.add_argument("--no-sample", action="store_true", help="skip timing `genlab sample`")
    parser.add_argument("--no-train", action="store_true", help="skip the end-to-end Trainer.train() run")
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    args = parser.parse_args(argv)
    if args.rounds is None:
        args.rounds = 1 if args.quick else 6
    return args


def setup_tensorflow(args: argparse.Namespace):
    """Import TensorFlow quietly and apply thread settings before any op runs."""
    from genlab.native_output import import_tensorflow_quietly

    import_tensorflow_quietly()
    import tensorflow as tf

    # The reference's variants are new tf.functions traced once each; TensorFlow's retracing
    # warning counts across them and would cry wolf. The bench checks genlab's own trace count.
    tf.get_logger().setLevel("ERROR")
    if args.intra_op is not None:
        tf.config.threading.set_intra_op_parallelism_threads(args.intra_op)
    if args.inter_op is not None:
        tf.config.threading.set_inter_op_parallelism_threads(args.inter_op)
    if args.intra_op is not None or args.inter_op is not None:
        tf.constant(0.0).numpy()  # starts TensorFlow: genlab's runtime can no longer change them
    return tf


def thread_settings() -> str:
    import tensorflow as tf

    threads = tf.config.threading
    intra, inter = threads.get_intra_op_parallelism_threads(), threads.get_inter_op_parallelism_threads()
    return f"intra-op threads {intra or 'default'}, inter-op {inter or 'default'}"


# ----------------------------------------------------------------------------- machine


def matmul_gflops(size: int, repeats: int, trials: int = 3) -> float:
    """float32 ``size`` x ``size`` matrix products per second, in GFLOP/s (best of ``trials``)."""
    import tensorflow as tf

    a = tf.random.normal([size, size], seed=1)
    b = tf.random.normal([size, size], seed=2) / size**0.5  # keeps the chained products finite

    @tf.function
    def chain(x, count):
        for _ in tf.range(count):
            x = tf.matmul(x, b)
        return x

    chain(a, tf.constant(1)).numpy()
    best = 0.0
    for _ in range(trials):
        start = time.perf_counter()
        chain(a, tf.constant(repeats)).numpy()
        best = max(best, 2 * size**3 * repeats / (time.perf_counter() - start) / 1e9)
    return best


def load_average() -> str:
    try:
        return " ".join(f"{value:.2f}" for value in os.getloadavg())
    except OSError:
        return "n/a"


class OtherLoad:
    """The share of the machine's CPU time that other processes used while this one measured.

    The benchmark's own time includes its workers: finished ones through ``os.times()``,
    running ones through /proc.
    """

    def __init__(self) -> None:
        self.workers: set[int] = set()  # pids of running workers
        self.start = self._sample()

    def _sample(self) -> tuple[float, float, float] | None:
        try:
            fields = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        except (OSError, ValueError):
            return None
        ticks = os.sysconf("SC_CLK_TCK")
        idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
        busy_seconds = (sum(fields[:8]) - idle) / ticks
        own = os.times()
        own_seconds = own.user + own.system + own.children_user + own.children_system
        own_seconds += sum(_process_cpu_ticks(pid) for pid in self.workers) / ticks
        return time.perf_counter(), busy_seconds, own_seconds

    def share(self) -> float | None:
        end = self._sample()
        if self.start is None or end is None:
            return None
        wall, busy, own = (after - before for after, before in zip(end, self.start))
        return max(0.0, busy - own) / (wall * (os.cpu_count() or 1))


def _process_cpu_ticks(pid: int) -> int:
    """User plus system time of a running process, in clock ticks (0 if it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0
    return int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of the file)


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


# ----------------------------------------------------------------------------- genlab


def make_trainer(overrides: list[str], run_dir: Path, batches=None):
    """The Trainer `genlab train OVERRIDES` runs, in ``run_dir`` (with ``batches`` instead of the data's)."""
    from genlab.api import train_config
    from genlab.training.trainer import Trainer

    run_dir.mkdir(parents=True, exist_ok=True)
    return Trainer(train_config(overrides), run_dir, batches=batches)


class HeldBatch:
    """Every step trains on one batch already in memory: what the loop costs without its input."""

    steps_per_epoch = 1
    random_access = True

    def __init__(self, images) -> None:
        import tensorflow as tf

        self.images = tf.Variable(images, trainable=False)

    def start(self, step: int) -> None:
        pass

    def batch(self, step):
        return self.images.read_value()


# ----------------------------------------------------------------------------- reference


def reference_images(trainer):
    """The training images as the tutorials prepare them: float32 numpy in the model's range."""
    import numpy as np

    images = trainer.data.train_images.astype(np.float32) / 255.0
    if trainer.config.dataset.binarize:
        images = np.where(images > 0.5, 1.0, 0.0).astype(np.float32)
    low, high = trainer.model.pixel_range
    return (low + images * (high - low)).astype(np.float32)


def tutorial_dataset(images, batch_size: int, seed: int):
    """``from_tensor_slices(images).shuffle(len).batch(batch_size)``, repeated for a fixed step count."""
    import tensorflow as tf

    dataset = tf.data.Dataset.from_tensor_slices(images).shuffle(len(images), seed=seed)
    return dataset.batch(batch_size, drop_remainder=True).repeat()


def keras_class(instance) -> type:
    """The Keras class a genlab subclass extends (for Keras' own objects, their class)."""
    return next(cls for cls in type(instance).__mro__ if cls.__module__.startswith("keras."))


def tutorial_layers(network):
    """A copy of a Keras model with each genlab layer subclass replaced by the Keras layer it extends.

    The tutorials use Keras' layers (for example ``BatchNormalization`` rather than
    genlab's fused version); the copy has the same structure and weights' shapes.
    """
    import keras

    def keras_layer(layer):
        return keras_class(layer).from_config(layer.get_config())

    return keras.models.clone_model(network, clone_function=keras_layer)


def tutorial_optimizer(optimizer):
    """Keras' own optimizer with the settings of genlab's."""
    return keras_class(optimizer).from_config(optimizer.get_config())


class Reference:
    """The tutorials' training loop on a copy of a trainer's networks, written out by hand.

    A fresh model object from the same builder, with Keras' own layers and optimizers
    where genlab has faster versions (see ``tutorial_layers``), gets the trainer's
    current weights; its optimizers have the same settings. It computes in float32, as the
    tutorials do, whatever precision genlab was given.
    """

    def __init__(self, trainer):
        import keras
        import tensorflow as tf

        from genlab.models import build_model
        from genlab.models.optimizers import build_optimizer

        config = trainer.config
        policy = keras.mixed_precision.global_policy()
        keras.mixed_precision.set_global_policy("float32")
        try:
            self.model = build_model(
                config.model, trainer.data.image_shape, lambda: tutorial_optimizer(build_optimizer(config.optimizer))
            )
        finally:
            keras.mixed_precision.set_global_policy(policy)
        for name, network in self.networks(self.model).items():
            network = tutorial_layers(network)
            network.set_weights(self.networks(trainer.model)[name].get_weights())
            setattr(self.model, name, network)
        self.rng = tf.random.Generator.from_seed(config.seed)
        self.train_step = tf.function(self._step)

    @staticmethod
    def networks(model) -> dict:
        """The Keras models among a model's networks (those whose layers the reference swaps)."""
        import keras

        return {name: network for name, network in model.networks().items() if isinstance(network, keras.Model)}

    def run(self, batches) -> float:
        """The classic loop: one compiled call per batch. Returns the mean first loss, as genlab's loop reports it."""
        import tensorflow as tf

        losses = [self.train_step(images) for images in batches]  # read once, at the end
        return float(tf.add_n(losses)) / len(losses)

    def _step(self, images):
        """The model's own losses, as a tutorial writes the step: a tape per forward pass, then each optimizer's
        gradients and update, on the whole batch (no parts, no replicas, no loss scaling)."""
        import tensorflow as tf

        first = None
        for update in self.model.updates():
            with tf.GradientTape(persistent=True) as tape:
                metrics = update.metrics(images, self.rng)
            for objective in update.objectives:
                variables = list(objective.variables())
                objective.optimizer.apply_gradients(zip(tape.gradient(metrics[objective.loss], variables), variables))
            if update.after is not None:
                update.after(metrics, images)
            first = metrics[update.objectives[0].loss]
        return first


# ----------------------------------------------------------------------------- FLOPs


def training_flops_per_image(model) -> int:
    """FLOPs of one training step per image, from the model's networks (see genlab.training.flops)."""
    from genlab.training import flops

    if model.has_discriminator:
        # D on real images and on fakes for its own loss, plus the generator's gradient
        # back through D on the fakes; G forward and backward.
        discriminator = 2 * flops.training_flops(model.discriminator)
        discriminator += flops.input_gradient_flops(model.discriminator)
        return flops.training_flops(model.generator) + discriminator
    return flops.training_flops(model.encoder) + flops.training_flops(model.decoder, input_gradient=True)


# ----------------------------------------------------------------------------- the two sides


def setting_overrides(name: str, args: argparse.Namespace) -> list[str]:
    overrides = [*SETTINGS[name].overrides, *args.override, "trainer.steps=1000000000"]
    if args.data_path:
        overrides.append(f"dataset.path={args.data_path}")
    return overrides


def steps_per_round(name: str, args: argparse.Namespace) -> int:
    setting = SETTINGS[name]
    return setting.quick_steps if args.quick else max(1, round(setting.round_steps * args.steps_scale))


def warm_up_steps(steps: int) -> int:
    """Steps before timing: tracing, the reference's shuffle buffer, first-touch allocations."""
    return max(2, steps // 5)


def images_per_second(function, images: int) -> float:
    start = time.perf_counter()
    function()
    return images / (time.perf_counter() - start)


class GenlabSide:
    """genlab's Trainer, and a twin of it (same config and initial weights) on one batch held in memory."""

    def __init__(self, name: str, args: argparse.Namespace, run_dir: Path):
        import tensorflow as tf

        overrides = setting_overrides(name, args)
        self.trainer = make_trainer(overrides, run_dir / "real")
        self.batch_size = self.trainer.config.trainer.batch_size
        warm_up = warm_up_steps(steps_per_round(name, args))
        self.twin = None
        if not args.no_input:
            held = HeldBatch(self.trainer.batches.batch(tf.constant(0, tf.int64)))
            self.twin = make_trainer(overrides, run_dir / "in-memory", batches=held)
            self.twin.run_steps(warm_up)
        self.trainer.run_steps(warm_up)

    def describe(self) -> dict:
        return {
            "batch_size": self.batch_size,
            "flops_per_image": training_flops_per_image(self.trainer.model),
            "precision": self.trainer.runtime.precision,
            "how": f"{self.trainer.runtime.devices}; {thread_settings()}",
            "traces": self.trainer.trace_count,
        }

    def time(self, kind: str, steps: int) -> float:
        images = steps * self.batch_size
        if kind == "genlab":
            return images_per_second(lambda: self.trainer.run_steps(steps), images)
        if kind == "in_memory":
            return images_per_second(lambda: self.twin.run_steps(steps), images)
        if kind == "train":
            # What `genlab train` shows: the same calls plus its logs, pictures and checkpoints
            # at the configured intervals (for a round this long: a few logs, a picture or two
            # and the final checkpoint).
            self.trainer.steps = int(self.trainer.step.numpy()) + steps
            return images_per_second(self.trainer.train, images)
        raise ValueError(f"genlab's side cannot time {kind!r}")


class ReferenceSide:
    """The tutorials' loop on the networks genlab's builder makes from the same config and seed."""

    def __init__(self, name: str, args: argparse.Namespace, run_dir: Path):
        # One micro-batch leaves TensorFlow's thread settings alone.
        trainer = make_trainer([*setting_overrides(name, args), "trainer.micro_batches=1"], run_dir)
        self.batch_size = trainer.config.trainer.batch_size
        self.reference = Reference(trainer)
        self.batches = iter(tutorial_dataset(reference_images(trainer), self.batch_size, trainer.config.seed))
        self.reference.run(itertools.islice(self.batches, warm_up_steps(steps_per_round(name, args))))

    def describe(self) -> dict:
        return {"how": thread_settings()}

    def time(self, kind: str, steps: int) -> float:
        if kind != "reference":
            raise ValueError(f"the reference's side cannot time {kind!r}")
        run = lambda: self.reference.run(itertools.islice(self.batches, steps))  # noqa: E731
        return images_per_second(run, steps * self.batch_size)


def serve(side: str, name: str, args: argparse.Namespace, run_dir: Path, connection) -> None:
    """A side's process: set up and warm up, then time what the coordinator asks until it sends None."""
    try:
        setup_tensorflow(args)
        worker = {"genlab": GenlabSide, "reference": ReferenceSide}[side](name, args, run_dir)
        connection.send(worker.describe())
        while (request := connection.recv()) is not None:
            connection.send(worker.describe() if request == "describe" else worker.time(*request))
    except Exception:  # the coordinator shows it; a worker has no one else to tell
        connection.send({"error": traceback.format_exc()})


class Worker:
    """One side of one setting in a process of its own, started and warmed up."""

    def __init__(self, side: str, name: str, args: argparse.Namespace, workdir: Path, other_load: OtherLoad):
        self.side, self.name, self.other_load = side, name, other_load
        context = multiprocessing.get_context("spawn")  # a fresh TensorFlow with its own thread settings
        self.connection, theirs = context.Pipe()
        self.process = context.Process(target=serve, args=(side, name, args, workdir / side, theirs), daemon=True)
        self.process.start()
        other_load.workers.add(self.process.pid)
        self.info = self._reply()

    def ask(self, request):
        self.connection.send(request)
        return self._reply()

    def _reply(self):
        try:
            reply = self.connection.recv()
        except EOFError:
            self.process.join()
            raise RuntimeError(f"the {self.side} side of {self.name} died (exit code {self.process.exitcode})")
        if isinstance(reply, dict) and "error" in reply:
            raise RuntimeError(f"the {self.side} side of {self.name} failed:\n{reply['error']}")
        return reply

    def __enter__(self) -> "Worker":
        return self

    def __exit__(self, *exc) -> None:
        if self.process.is_alive():
            self.connection.send(None)
            self.process.join(timeout=60)
            if self.process.is_alive():
                self.process.kill()
        self.other_load.workers.discard(self.process.pid)


# ----------------------------------------------------------------------------- measuring


@dataclass
class Result:
    name: str
    title: str
    batch_size: int
    flops_per_image: int
    precision: str  # genlab's; the reference always computes in float32
    genlab_how: str = ""  # devices, micro-batches and threads
    reference_how: str = ""
    genlab: list[float] = field(default_factory=list)  # images/s per round
    reference: list[float] = field(default_factory=list)
    in_memory: list[float] = field(default_factory=list)
    train: list[float] = field(default_factory=list)  # Trainer.train() end to end

    def median(self, kind: str) -> float:
        values = getattr(self, kind)
        return statistics.median(values) if values else float("nan")

    def ratio(self, kind: str, other: str) -> float:
        """Median over rounds of the ratio within each round (robust to slow drifts of the machine)."""
        pairs = list(zip(getattr(self, kind), getattr(self, other)))
        return statistics.median(mine / theirs for mine, theirs in pairs) if pairs else float("nan")


def bench_setting(name: str, args: argparse.Namespace, workdir: Path, other_load: OtherLoad) -> Result:
    steps = steps_per_round(name, args)
    workdir.mkdir(parents=True, exist_ok=True)
    # Started one after the other: a side warms up while the other is idle.
    with Worker("genlab", name, args, workdir, other_load) as genlab:
        with Worker("reference", name, args, workdir, other_load) as reference:
            info = genlab.info
            result = Result(
                name,
                SETTINGS[name].title,
                info["batch_size"],
                info["flops_per_image"],
                info["precision"],
                genlab_how=info["how"],
                reference_how=reference.info["how"],
            )
            variants = [(result.genlab, genlab, "genlab"), (result.reference, reference, "reference")]
            if not args.no_input:
                variants.append((result.in_memory, genlab, "in_memory"))
            for round_number in range(args.rounds):
                # each round starts with the next variant, so none always runs first or after another
                shift = round_number % len(variants)
                for measurements, worker, kind in variants[shift:] + variants[:shift]:
                    measurements.append(worker.ask((kind, steps)))
        traces = genlab.ask("describe")["traces"]
        if traces != 1:
            print(f"warning: genlab's loop was traced {traces} times", file=sys.stderr)
        if not args.no_train:
            result.train.append(genlab.ask(("train", steps)))
    return result


def time_command(command: list[str], repeats: int) -> float:
    """Median wall time of a command, in seconds."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def bench_sample(args: argparse.Namespace, workdir: Path) -> tuple[float, float] | None:
    """`genlab sample` end to end, and a bare `import tensorflow`, in seconds; None if unavailable."""
    genlab = shutil.which("genlab", path=str(Path(sys.executable).parent))
    if genlab is None or subprocess.run([genlab, "sample", "--help"], capture_output=True).returncode != 0:
        return None
    run_dir = workdir / "sample-run"
    train = [genlab, "train", "latent_dim=2", "trainer.steps=50", f"hydra.run.dir={run_dir}"]
    if args.data_path:
        train.append(f"dataset.path={args.data_path}")
    subprocess.run(train, check=True, capture_output=True)
    repeats = 1 if args.quick else 3
    sample_command = [genlab, "sample", f"checkpoint={run_dir}", f"out={workdir / 'samples'}"]
    bare_command = [sys.executable, "-c", "import tensorflow"]
    if not args.quick:  # both read the same library files: time them warm
        time_command(sample_command, 1)
        time_command(bare_command, 1)
    return time_command(sample_command, repeats), time_command(bare_command, repeats)


# ----------------------------------------------------------------------------- report


def report(results: list[Result], matmul: float, sample: tuple[float, float] | None, header: str) -> str:
    lines = [header, "ratios: median over rounds of genlab / reference (or real / in memory) within a round", ""]
    lines.append(
        f"{'setting':<40} {'genlab img/s':>12} {'reference':>10} {'ratio':>6} "
        f"{'MFLOP/img':>9} {'GFLOP/s':>8} {'of matmul':>9} {'train() img/s':>13}"
    )
    for result in results:
        genlab, reference = result.median("genlab"), result.median("reference")
        achieved = genlab * result.flops_per_image / 1e9
        train = f"{result.median('train'):>13.0f}" if result.train else f"{'-':>13}"
        lines.append(
            f"{result.title:<40} {genlab:>12.0f} {reference:>10.0f} {result.ratio('genlab', 'reference'):>5.2f}x "
            f"{result.flops_per_image / 1e6:>9.1f} {achieved:>8.1f} {achieved / matmul:>8.0%} {train}"
        )
    lines.append("")
    for result in results:
        lines.append(f"{result.title}: genlab {result.genlab_how}; reference {result.reference_how}")
    lines.append("")
    for result in results:
        if result.in_memory:
            lines.append(
                f"input pipeline, {result.title}: real data {result.median('genlab'):.0f} img/s, "
                f"batch in memory {result.median('in_memory'):.0f} img/s, "
                f"ratio {result.ratio('genlab', 'in_memory'):.3f}"
            )
    if sample is not None:
        lines.append(
            f"genlab sample end to end {sample[0]:.2f} s, python -c 'import tensorflow' {sample[1]:.2f} s, "
            f"ratio {sample[0] / sample[1]:.2f}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    tf = setup_tensorflow(args)
    names = args.setting or list(SETTINGS)
    load_before = load_average()
    size, repeats = (512, 4) if args.quick else (2048, 10)
    matmul_before = matmul_gflops(size, repeats)

    results = []
    other_load = OtherLoad()
    with tempfile.TemporaryDirectory(prefix="genlab-bench-") as workdir:
        for name in names:
            results.append(bench_setting(name, args, Path(workdir) / name, other_load))
            print(f"measured {name}", file=sys.stderr, flush=True)
        # the machine's rate is the better of two measurements, one before and one after
        matmul = max(matmul_before, matmul_gflops(size, repeats))
        others = other_load.share()
        sample = None if args.no_sample else bench_sample(args, Path(workdir))
    if not args.no_sample and sample is None:
        print("`genlab sample` is not available: skipped", file=sys.stderr)

    header = "\n".join(
        [
            f"{os.cpu_count()} CPU cores ({cpu_name()}), TensorFlow {tf.__version__}, "
            f"oneDNN {os.environ.get('TF_ENABLE_ONEDNN_OPTS', 'default')}; genlab and the reference run in "
            "processes of their own (threads below), taking turns",
            f"load average {load_before} at start, {load_average()} at end; other processes used "
            f"{'n/a' if others is None else f'{others:.0%}'} of the CPU time while measuring",
            f"{args.rounds} rounds per setting, medians; overrides {args.override or 'none'}; genlab computes in "
            f"{', '.join(sorted({result.precision for result in results}))}, the reference in float32",
            f"float32 matmul {size}x{size}: {matmul:.1f} GFLOP/s",
        ]
    )
    print(report(results, matmul, sample, header))
    if args.json:
        summary = {
            "matmul_gflops": matmul,
            "load_before": load_before,
            "load_after": load_average(),
            "other_processes_cpu_share": others,
            "overrides": args.override,
            "intra_op": args.intra_op,
            "inter_op": args.inter_op,
            "sample": sample,
            "results": [vars(result) for result in results],
        }
        args.json.write_text(json.dumps(summary, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
