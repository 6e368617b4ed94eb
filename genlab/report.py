"""`genlab report DIR` (or dir=DIR): a table and a contact sheet comparing the runs under DIR."""
from __future__ import annotations

import hydra
from omegaconf import DictConfig

from genlab.commands import exit_on_user_error, hydra_command
from genlab.evaluation_command import run_report
from genlab.evaluation_config import register_evaluation_schemas

register_evaluation_schemas()


@hydra.main(version_base="1.3", config_path="pkg://genlab.conf", config_name="report")
def _app(cfg: DictConfig) -> None:
    with exit_on_user_error():
        run_report(cfg)


main = hydra_command("report", _app)
