"""`genlab report DIR` (or dir=DIR): a table and a contact sheet comparing the runs under DIR."""
from __future__ import annotations

import sys

import hydra
from omegaconf import DictConfig

from genlab.commands import clean_config_errors, exit_on_user_error
from genlab.evaluation_command import run_report
from genlab.evaluation_config import register_evaluation_schemas
from genlab.reporting import positional_dir

register_evaluation_schemas()


@hydra.main(version_base="1.3", config_path="pkg://genlab.conf", config_name="report")
def _app(cfg: DictConfig) -> None:
    with exit_on_user_error():
        run_report(cfg)


def main() -> None:
    sys.argv = positional_dir(sys.argv)
    with clean_config_errors("report"):
        _app()
