"""Process-wide TensorFlow settings for one job: devices, strategy, precision, XLA, seeds, determinism."""
from __future__ import annotations

import gc
import logging
from dataclasses import dataclass

import keras
import tensorflow as tf

from genlab.models import determinism
from genlab.training import micro_batches
from genlab.training.cluster import ClusterRole, cluster_role
from genlab.config.schema import TrainerConfig
from genlab.errors import ConfigError

log = logging.getLogger("genlab.training.runtime")


@dataclass(frozen=True)
class Runtime:
    precision: str
    jit_compile: bool
    devices: str
    strategy: tf.distribute.Strategy
    role: ClusterRole
    distributed: bool  # a strategy other than TensorFlow's default one
    micro_batch_plan: micro_batches.MicroBatchPlan

    @property
    def num_replicas(self) -> int:
        return int(self.strategy.num_replicas_in_sync)

    @property
    def is_chief(self) -> bool:
        return self.role.is_chief


def configure(trainer: TrainerConfig, seed: int, batch_norm: bool = False) -> Runtime:
    """Start from a clean Keras state and apply the trainer's switches.

    ``auto`` means mixed_float16 and XLA on a GPU, float32 without XLA on a CPU,
    where both measured slower; the strategy spreads each batch over every local
    device (``mirrored``) and over the workers TF_CONFIG names (``multi_worker``).
    ``batch_norm`` says whether the model's networks use it (they are then never
    split into micro-batches).
    """
    # tf.distribute logs every all-reduce it builds at INFO, and absl a timing line on every checkpoint
    # save; genlab's own lines say what happens.
    for name in ("tensorflow", "absl"):
        logging.getLogger(name).setLevel(logging.WARNING)
    role = cluster_role()
    gpus = tf.config.list_physical_devices("GPU")
    if not gpus:
        _split_cpu(trainer.cpu_devices)
    single_cpu = not gpus and trainer.cpu_devices == 1 and not role.is_multi_worker
    on_cpu_alone = single_cpu and trainer.strategy in ("auto", "default")
    plan = micro_batches.plan(
        trainer.micro_batch_count(), trainer.batch_size, batch_norm, on_cpu_alone, micro_batches.available_cores()
    )
    _use_intra_op_threads(plan.intra_op_threads)
    # Collective ops must be set up before anything else starts TensorFlow's runtime.
    strategy_name, strategy = _strategy(trainer.strategy, role, gpus, trainer.cpu_devices, trainer.deterministic)
    keras.backend.clear_session(free_memory=True)
    gc.collect()
    precision = trainer.precision if trainer.precision != "auto" else ("mixed_float16" if gpus else "float32")
    distributed = strategy_name != "default"
    jit_compile = _jit_compile(trainer.jit_compile, bool(gpus), strategy_name)
    keras.mixed_precision.set_global_policy(precision)
    keras.utils.set_random_seed(seed)
    if trainer.deterministic:
        tf.config.experimental.enable_op_determinism()
    determinism.use_ordered_gradient_sums(trainer.deterministic)
    devices = f"{len(gpus)} GPU" if gpus else ("CPU" if trainer.cpu_devices == 1 else f"{trainer.cpu_devices} CPU devices")
    if strategy.num_replicas_in_sync > 1 or role.is_multi_worker:
        devices += f", {strategy_name} over {strategy.num_replicas_in_sync} replicas"
        if role.is_multi_worker:
            devices += f" ({role.name} of {role.num_workers} workers)"
    if plan.parts > 1:
        devices += f", {plan.describe()}"
    return Runtime(
        precision=precision,
        jit_compile=jit_compile,
        devices=devices,
        strategy=strategy,
        role=role,
        distributed=distributed,
        micro_batch_plan=plan,
    )


# The intra-op thread count an earlier job of this process set (a sweep's jobs share one process).
_threads_set_by_genlab: int | None = None


def _use_intra_op_threads(wanted: int | None) -> None:
    """One thread per op for micro-batches; None leaves the process's setting (TensorFlow's default unless
    its owner chose one). Settable only before TensorFlow starts in a process, so a later job of a sweep
    runs with the first one's: it says so, as its sums then round as that setting's do, not as a run of
    its own would."""
    global _threads_set_by_genlab
    threading = tf.config.threading
    current = threading.get_intra_op_parallelism_threads()
    if wanted is None:
        if _threads_set_by_genlab is not None:
            log.warning(
                "an earlier job of this process set TensorFlow to %d intra-op thread(s) per op: this job runs "
                "so, and its numbers round as they do with that setting, not as in a process of its own",
                _threads_set_by_genlab,
            )
        return
    if current == wanted:
        return
    try:
        threading.set_intra_op_parallelism_threads(wanted)
        _threads_set_by_genlab = wanted
    except RuntimeError:  # an earlier job of this process (a sweep, a notebook) started TensorFlow
        log.warning(
            "TensorFlow already runs in this process with %s intra-op thread(s) per op, not the %d that "
            "micro-batches use: it trains correctly but slower than in a process of its own, and its numbers "
            "round as they do with that setting",
            current or "the default number of",
            wanted,
        )


def _jit_compile(switch: str, on_gpu: bool, strategy_name: str) -> bool:
    """XLA compiles the model step alone, which cannot hold a strategy's gradient all-reduce."""
    if switch == "true" and strategy_name != "default":
        raise ConfigError(
            f"trainer.jit_compile=true cannot be used with trainer.strategy={strategy_name}: the compiled step "
            "would have to synchronise the replicas' gradients; use trainer.jit_compile=auto or false"
        )
    return {"true": True, "false": False, "auto": on_gpu and strategy_name == "default"}[switch]


def _split_cpu(count: int) -> None:
    """Present the CPU as ``count`` logical devices, so ``mirrored`` can run without GPUs."""
    cpu = tf.config.list_physical_devices("CPU")[0]
    current = tf.config.get_logical_device_configuration(cpu)
    if len(current or [None]) == count:
        return
    try:
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * count)
    except RuntimeError:
        raise ConfigError(
            f"trainer.cpu_devices={count}: TensorFlow already runs in this process with "
            f"{len(current or [None])} CPU device(s); run jobs with other device counts in their own process"
        ) from None


# A process can join one multi-worker cluster only; sweep jobs after the first reuse it.
_multi_worker_strategy: tf.distribute.Strategy | None = None


def _strategy(
    name: str, role: ClusterRole, gpus: list, cpu_devices: int, deterministic: bool
) -> tuple[str, tf.distribute.Strategy]:
    """The strategy ``name`` asks for (``auto`` resolved), with its resolved name.

    ``deterministic``: CPU replicas' values are reduced in replica order (genlab.models.determinism).
    """
    local_devices = len(gpus) if gpus else cpu_devices
    if name == "auto":
        name = "multi_worker" if role.is_multi_worker else ("mirrored" if local_devices > 1 else "default")
    if role.is_multi_worker and name != "multi_worker":
        raise ConfigError(
            f"trainer.strategy={name}: TF_CONFIG describes {role.num_workers} workers; "
            "use trainer.strategy=multi_worker (or auto), or unset TF_CONFIG"
        )
    if name == "default":
        return name, tf.distribute.get_strategy()
    if name == "mirrored":
        kind, count = ("gpu", len(gpus)) if gpus else ("cpu", cpu_devices)
        devices = [f"/{kind}:{index}" for index in range(count)]
        reduction = determinism.ordered_cross_device_ops(devices[0]) if deterministic and not gpus else None
        return name, tf.distribute.MirroredStrategy(devices, cross_device_ops=reduction)
    global _multi_worker_strategy
    if _multi_worker_strategy is None:
        _multi_worker_strategy = tf.distribute.MultiWorkerMirroredStrategy()
        log.info("joined the cluster as %s of %d workers", role.name, role.num_workers)
    return name, _multi_worker_strategy
