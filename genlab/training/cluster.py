"""This process's place in a multi-worker job, read from TF_CONFIG without importing TensorFlow.

TensorFlow's multi-worker strategies describe the cluster in the TF_CONFIG environment
variable (``{"cluster": {"worker": ["host:port", ...]}, "task": {"type": "worker", "index": 0}}``).
The chief — the ``chief`` task, or worker 0 when there is none — owns the run directory:
it alone takes the lock and writes the config, TensorBoard, progress frames and checkpoints.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass

from genlab.errors import ConfigError

ENVIRONMENT_VARIABLE = "TF_CONFIG"


@dataclass(frozen=True)
class ClusterRole:
    task_type: str
    task_index: int
    num_workers: int  # chief included
    has_chief: bool = False

    @property
    def is_chief(self) -> bool:
        return self.task_type == "chief" or (self.task_type == "worker" and self.task_index == 0 and not self.has_chief)

    @property
    def is_multi_worker(self) -> bool:
        return self.num_workers > 1

    @property
    def name(self) -> str:
        return f"{self.task_type} {self.task_index}"


SINGLE_PROCESS = ClusterRole("worker", 0, 1)


def cluster_role(environ: dict[str, str] | None = None) -> ClusterRole:
    """The role TF_CONFIG gives this process; a single process when it is unset."""
    text = (environ if environ is not None else os.environ).get(ENVIRONMENT_VARIABLE, "").strip()
    if not text:
        return SINGLE_PROCESS
    try:
        spec = json.loads(text)
        cluster = spec.get("cluster", {})
        task = spec.get("task", {})
        task_type, task_index = str(task["type"]), int(task["index"])
        workers = {name: list(addresses) for name, addresses in cluster.items() if name in ("chief", "worker")}
    except (ValueError, TypeError, KeyError, AttributeError) as error:
        raise ConfigError(
            f"{ENVIRONMENT_VARIABLE} is not a valid cluster description ({type(error).__name__}: {error}); "
            'expected {"cluster": {"worker": ["host:port", ...]}, "task": {"type": "worker", "index": N}}'
        ) from None
    if task_type not in workers or not 0 <= task_index < len(workers[task_type]):
        raise ConfigError(
            f"{ENVIRONMENT_VARIABLE}: task {task_type} {task_index} is not in the cluster ({sorted(workers)})"
        )
    num_workers = sum(len(addresses) for addresses in workers.values())
    return ClusterRole(task_type, task_index, num_workers, has_chief="chief" in workers)
