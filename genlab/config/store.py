"""The training schemas in Hydra's ConfigStore, and the config groups a user chooses from.

Each group YAML extends its schema from ``schema/<group>/<name>``; a model from another
package is stored beside genlab's own.
"""
from __future__ import annotations

from importlib.resources import files

from hydra.core.config_store import ConfigStore
from omegaconf import DictConfig, OmegaConf

from genlab.config.models import ModelSpec, model_specs
from genlab.errors import ConfigError
from genlab.config.schema import OPTIMIZER_SCHEMAS, DatasetConfig, TrainConfig, TrainerConfig


def register_schemas() -> None:
    """Store every schema where the group YAML files extend them from."""
    store = ConfigStore.instance()
    store.store(name="train_schema", node=TrainConfig)
    for name, spec in model_specs().items():
        store.store(group="schema/model", name=name, node=spec.config)
        if spec.conf is not None:  # another package's model/<name>.yaml, as if it were in genlab's conf/
            store.store(group="model", name=name, node=model_yaml(spec))
    for name, schema in OPTIMIZER_SCHEMAS.items():
        store.store(group="schema/optimizer", name=name, node=schema)
    store.store(group="schema/dataset", name="dataset", node=DatasetConfig)
    store.store(group="schema/trainer", name="trainer", node=TrainerConfig)


def model_yaml(spec: ModelSpec) -> DictConfig:
    """The ``model/<name>.yaml`` that the package of a registered model ships."""
    resource = files(spec.conf).joinpath("model", f"{spec.name}.yaml")
    try:
        loaded = OmegaConf.create(resource.read_text())
    except (OSError, ValueError) as error:  # missing file, or YAML that does not parse
        raise ConfigError(f"model {spec.name}: cannot read model/{spec.name}.yaml of {spec.conf}: {error}") from None
    if not isinstance(loaded, DictConfig):
        raise ConfigError(f"model {spec.name}: model/{spec.name}.yaml of {spec.conf} is not a mapping")
    return loaded


def config_groups_text() -> str:
    """The user-facing config groups and their options, for `--help` (schema groups left out)."""
    root = files("genlab.conf")
    groups: dict[str, set[str]] = {}
    for group in (entry for entry in root.iterdir() if entry.is_dir() and not entry.name.startswith("_")):
        groups[group.name] = {entry.name[: -len(".yaml")] for entry in group.iterdir() if entry.name.endswith(".yaml")}
    groups.setdefault("model", set()).update(model_specs())  # with the models of other packages
    return "\n".join(f"{group}: {', '.join(sorted(options))}" for group, options in sorted(groups.items()) if options)
