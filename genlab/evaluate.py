"""`genlab evaluate checkpoint=RUN`: the run's numbers on its test split (metrics.json, TensorBoard, a table)."""
from __future__ import annotations

import hydra
from omegaconf import DictConfig

from genlab.commands import exit_on_user_error, hydra_command
from genlab.evaluation_command import run_evaluate
from genlab.evaluation_config import register_evaluation_schemas

register_evaluation_schemas()


@hydra.main(version_base="1.3", config_path="pkg://genlab.conf", config_name="evaluate")
def _app(cfg: DictConfig) -> None:
    with exit_on_user_error():
        run_evaluate(cfg)


main = hydra_command("evaluate", _app)
