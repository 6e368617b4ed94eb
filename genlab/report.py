"""`genlab report DIR` (or dir=DIR): a table and a contact sheet comparing the runs under DIR."""
from __future__ import annotations

import sys

import hydra
from omegaconf import DictConfig

from genlab.commands import exit_on_user_error
from genlab.evaluation_command import checked
from genlab.evaluation_config import register_evaluation_schemas
from genlab.reporting import positional_dir, report

register_evaluation_schemas()


@hydra.main(version_base="1.3", config_path="pkg://genlab.conf", config_name="report")
def _app(cfg: DictConfig) -> None:
    with exit_on_user_error():
        report(checked(cfg, "report"))


def main() -> None:
    sys.argv = positional_dir(sys.argv)
    _app()
