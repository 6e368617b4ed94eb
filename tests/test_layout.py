"""The package's layout is its architecture: one folder per concern, imports pointing one way."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import genlab

PACKAGE = Path(genlab.__file__).parent

# Each part of the package and its layer: a part imports only from parts of a lower layer,
# or from parts of its own layer where the parts' graph stays without a circle.
LAYERS = {
    "__init__": 7,
    "api": 6,
    "cli": 6,
    "commands": 5,
    "training": 4,
    "evaluate": 4,
    "render": 4,
    "rundir": 3,
    "models": 3,
    "data": 3,
    "metrics": 3,
    "config": 2,
    "errors": 1,
    "files": 1,
    "native_output": 1,
}
TOP_LEVEL_MODULES = {"__init__", "api", "cli", "errors", "files", "native_output"}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def source_files() -> dict[str, Path]:
    return {module_name(path): path for path in PACKAGE.rglob("*.py") if "conf" not in path.relative_to(PACKAGE).parts[:1]}


def imported_modules(path: Path, modules: dict[str, Path]) -> set[str]:
    """The genlab modules ``path`` imports, at the top or inside a function."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("genlab"):
            if node.module in modules:
                found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names if f"{node.module}.{alias.name}" in modules)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name in modules)
    found.discard(module_name(path))
    return found - {"genlab"}


def part_of(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def import_graph() -> dict[str, set[str]]:
    modules = source_files()
    return {name: imported_modules(path, modules) for name, path in modules.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for after in sorted(graph.get(node, ())):
            if state.get(after) == 1:
                return path[path.index(after):] + [after]
            if after not in state:
                cycle = visit(after)
                if cycle:
                    return cycle
        state[node] = 2
        path.pop()
        return None

    for node in sorted(graph):
        if node not in state:
            cycle = visit(node)
            if cycle:
                return cycle
    return None


def test_only_a_few_modules_sit_at_the_top() -> None:
    top = {path.stem for path in PACKAGE.glob("*.py")}
    assert top == TOP_LEVEL_MODULES
    assert {path.name for path in PACKAGE.iterdir() if (path / "__init__.py").exists()} == {
        "commands", "config", "rundir", "training", "models", "data", "render", "evaluate", "metrics",
    }  # fmt: skip


def test_every_part_has_a_layer() -> None:
    assert {part_of(module) for module in source_files()} == set(LAYERS)


def test_imports_point_down_the_layers() -> None:
    upward = sorted(
        f"{module} imports {target}"
        for module, targets in import_graph().items()
        for target in targets
        if part_of(target) != part_of(module) and LAYERS[part_of(target)] > LAYERS[part_of(module)]
    )
    assert upward == []


def test_no_import_circle_between_modules_or_parts() -> None:
    graph = import_graph()
    assert find_cycle(graph) is None
    parts: dict[str, set[str]] = {}
    for module, targets in graph.items():
        parts.setdefault(part_of(module), set()).update(part_of(target) for target in targets if part_of(target) != part_of(module))
    assert find_cycle(parts) is None


def test_only_the_dispatchers_import_the_commands() -> None:
    """The command line's (cli) and Python's (api)."""
    importers = {
        module
        for module, targets in import_graph().items()
        if part_of(module) != "commands" and any(part_of(target) == "commands" for target in targets)
    }
    assert importers == {"genlab.cli", "genlab.api"}


def test_a_cycle_is_found() -> None:
    """The checker itself: a circle of three and a self-contained graph."""
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None


@pytest.mark.parametrize(
    "module",
    ["genlab.config.schema", "genlab.config.checks", "genlab.config.render", "genlab.config.evaluate",
     "genlab.commands.train", "genlab.commands.render", "genlab.commands.evaluate", "genlab.data", "genlab.cli"],
)  # fmt: skip
def test_config_commands_and_data_import_no_tensorflow(module: str) -> None:
    check = f"import sys, {module}; assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules"
    result = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def model_name_comparisons(source: str) -> list[str]:
    """Comparisons of a model's name (``model.name == "vae"``, ``config.model.name in (...)``)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Compare):
            for operand in (node.left, *node.comparators):
                text = ast.unparse(operand)
                if isinstance(operand, ast.Attribute) and operand.attr == "name" and "model" in text.split(".")[-2]:
                    found.append(ast.unparse(node))
    return found


def test_commands_ask_the_model_what_it_can_do_never_its_name() -> None:
    assert model_name_comparisons('if job.run.model.name != "ae": pass\nx = cfg.model.name in ("vae",)') == [
        "job.run.model.name != 'ae'", "cfg.model.name in ('vae',)",
    ]  # fmt: skip
    outside_models = {
        name: model_name_comparisons(path.read_text())
        for name, path in source_files().items()
        if part_of(name) != "models"
    }
    assert {name: found for name, found in outside_models.items() if found} == {}


def test_every_package_ships_in_the_wheel() -> None:
    import tomllib

    listed = set(tomllib.loads((PACKAGE.parent / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    packages = {module_name(path) for path in PACKAGE.rglob("__init__.py") if "conf" not in path.relative_to(PACKAGE).parts[:1]}
    assert packages - listed == set()


def test_every_conf_group_ships_in_the_wheel() -> None:
    """Each folder of conf/ holding YAML is a package of the wheel, with its YAML as package data."""
    import tomllib

    setuptools = tomllib.loads((PACKAGE.parent / "pyproject.toml").read_text())["tool"]["setuptools"]
    conf = PACKAGE.parent / "conf"
    groups = {".".join(("genlab.conf", *path.parent.relative_to(conf).parts)) for path in conf.rglob("*.yaml")}
    assert "genlab.conf.hparams_search" in groups
    assert groups - set(setuptools["packages"]) == set()
    assert {group for group in groups if "*.yaml" not in setuptools["package-data"].get(group, [])} == set()
