"""A run directory received from someone else cannot run code when genlab reads it.

Copies of a tiny trained run are tampered with as an attacker would (interpolations and
resolvers in the saved config, class paths, module names, YAML Python tags) and given to
the real `genlab` CLI: each must stop with one error line naming the file and the key,
without a traceback, and the payload's sentinel must not exist afterwards.
"""
from __future__ import annotations

import ast
import shutil
from pathlib import Path
from typing import Callable

import pytest
import yaml

from conftest import Result, run_genlab, tiny_train_args

pytestmark = pytest.mark.slow

PACKAGE = Path(__file__).resolve().parents[1] / "genlab"
SECRET = "s3cr3t-value-of-the-environment"
CONFIG = Path(".hydra") / "config.yaml"
OVERRIDES = Path(".hydra") / "overrides.yaml"


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory: pytest.TempPathFactory, idx_dataset_args: list[str]) -> Path:
    """One tiny VAE run; every test tampers with its own copy."""
    workdir = tmp_path_factory.mktemp("security")
    run_dir = workdir / "run"
    result = run_genlab(*tiny_train_args("vae", idx_dataset_args, steps=10), f"hydra.run.dir={run_dir}", cwd=workdir)
    assert result.returncode == 0, result.output
    return run_dir


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """The working directory of the commands: a resolver run by mistake would create outputs/ here."""
    directory = tmp_path / "cwd"
    directory.mkdir()
    return directory


def copy_run(trained_run: Path, destination: Path) -> Path:
    return Path(shutil.copytree(trained_run, destination))


def edit_config(run_dir: Path, change: Callable[[dict], None]) -> None:
    config = yaml.safe_load((run_dir / CONFIG).read_text())
    change(config)
    (run_dir / CONFIG).write_text(yaml.safe_dump(config))


def refused(result: Result, *fragments: str) -> str:
    """The one `genlab: error:` line of a command that had to stop, holding every fragment."""
    errors = [line for line in result.stderr.splitlines() if line.startswith("genlab: error:")]
    assert result.returncode != 0, result.output
    assert "Traceback" not in result.output, result.output
    assert len(errors) == 1, result.output
    for fragment in fragments:
        assert fragment in errors[0], result.output
    return errors[0]


def no_payload_ran(workdir: Path, sentinel: Path, result: Result) -> None:
    assert not sentinel.exists()
    assert not (workdir / "outputs").exists()  # genlab_run_dir would have created a run directory here
    assert SECRET not in result.output


def set_key(section: str, key: str, value: object) -> Callable[[dict], None]:
    return lambda config: config[section].__setitem__(key, value)


# (what is tampered, the change given the sentinel's path, the key the error must name)
TAMPERINGS: dict[str, tuple[Callable[[Path], Callable[[dict], None]], str]] = {
    "run-dir resolver": (lambda sentinel: set_key("model", "latent_dim", "${genlab_run_dir:null,pwned,here,now}"), "model.latent_dim"),
    "environment": (lambda sentinel: set_key("dataset", "path", "${oc.env:GENLAB_TEST_SECRET}"), "dataset.path"),
    "interpolation in a string": (lambda sentinel: set_key("dataset", "path", f"{sentinel}/${{oc.env:HOME}}"), "dataset.path"),
    "nested interpolation": (lambda sentinel: set_key("model", "encoder", {"widths": [8, "${oc.env:GENLAB_TEST_SECRET}"]}), "model.encoder.widths[1]"),
    "class path": (lambda sentinel: set_key("model", "_target_", "os.system"), "model._target_"),
    "class path at the top": (lambda sentinel: lambda config: config.update(_target_="os.system", _args_=[f"touch {sentinel}"]), "_target_"),
    "model name of a module": (lambda sentinel: set_key("model", "name", "os"), "model.name"),
    "dataset name with a path": (lambda sentinel: set_key("dataset", "name", "../../tmp/payload"), "dataset.name"),
    "dataset name of a package module": (lambda sentinel: set_key("dataset", "name", "locate"), "dataset.name"),
    "optimizer name": (lambda sentinel: set_key("optimizer", "name", "subprocess"), "optimizer.name"),
}


@pytest.mark.parametrize("tampering", sorted(TAMPERINGS))
def test_tampered_config_is_refused_by_sample(tampering: str, trained_run: Path, workdir: Path, tmp_path: Path) -> None:
    run_dir = copy_run(trained_run, tmp_path / "foreign")
    sentinel = tmp_path / "sentinel"
    change, key = TAMPERINGS[tampering]
    edit_config(run_dir, change(sentinel))
    result = run_genlab("sample", f"checkpoint={run_dir}", cwd=workdir, env={"GENLAB_TEST_SECRET": SECRET})
    refused(result, str(run_dir / CONFIG), key)
    no_payload_ran(workdir, sentinel, result)
    assert not (run_dir / "renders").exists()


def test_yaml_python_tags_are_not_constructed(trained_run: Path, workdir: Path, tmp_path: Path) -> None:
    run_dir = copy_run(trained_run, tmp_path / "foreign")
    sentinel = tmp_path / "sentinel"
    text = (run_dir / CONFIG).read_text()
    (run_dir / CONFIG).write_text(f"payload: !!python/object/apply:os.system ['touch {sentinel}']\n{text}")
    result = run_genlab("sample", f"checkpoint={run_dir}", cwd=workdir)
    refused(result, f"cannot read {run_dir / CONFIG}", "python/object/apply")
    no_payload_ran(workdir, sentinel, result)


@pytest.mark.parametrize(
    "command",
    [
        ["sample"], ["reconstruct"], ["progress"], ["traverse"], ["interpolate"], ["manifold"], ["latents"],
        ["arithmetic", "attribute=7"], ["evaluate"], ["train", "trainer.steps=20"],
    ],
    ids=lambda command: command[0],
)
def test_every_command_refuses_a_resolver_in_the_saved_config(command: list[str], trained_run: Path, workdir: Path, tmp_path: Path) -> None:
    """`genlab train` registers the genlab_run_dir resolver, which creates directories: resuming must not resolve it."""
    run_dir = copy_run(trained_run, tmp_path / "foreign")
    edit_config(run_dir, set_key("model", "latent_dim", "${genlab_run_dir:null,pwned,here,now}"))
    before = sorted(path.relative_to(run_dir) for path in run_dir.rglob("*"))
    name, *extra = command
    key = "resume" if name == "train" else "checkpoint"
    result = run_genlab(name, f"{key}={run_dir}", *extra, cwd=workdir)
    refused(result, str(run_dir / CONFIG), "model.latent_dim", "interpolation")
    no_payload_ran(workdir, tmp_path / "sentinel", result)
    assert run_dir.is_dir() and sorted(path.relative_to(run_dir) for path in run_dir.rglob("*")) == before


def test_report_refuses_a_tampered_run_among_good_ones(trained_run: Path, workdir: Path, tmp_path: Path) -> None:
    sweep = tmp_path / "sweep"
    copy_run(trained_run, sweep / "beta=1")
    foreign = copy_run(trained_run, sweep / "beta=4")
    edit_config(foreign, set_key("model", "name", "os"))
    result = run_genlab("report", f"dir={sweep}", "evaluate=false", cwd=workdir)
    refused(result, str(foreign / CONFIG), "model.name")
    no_payload_ran(workdir, tmp_path / "sentinel", result)


def test_saved_overrides_are_shown_as_written_never_resolved(trained_run: Path, workdir: Path, tmp_path: Path) -> None:
    sweep = tmp_path / "sweep"
    plain = copy_run(trained_run, sweep / "a")
    foreign = copy_run(trained_run, sweep / "b")
    (plain / OVERRIDES).write_text("- beta=1\n")
    (foreign / OVERRIDES).write_text("- beta=${oc.env:GENLAB_TEST_SECRET}\n")
    result = run_genlab("report", f"dir={sweep}", "evaluate=false", cwd=workdir, env={"GENLAB_TEST_SECRET": SECRET})
    assert result.returncode == 0 and "Traceback" not in result.output, result.output
    written = "".join(path.read_text() for path in sweep.glob("report.*"))
    assert "${oc.env:GENLAB_TEST_SECRET}" in written
    assert SECRET not in written + result.output


def test_out_cannot_point_into_another_runs_checkpoints(trained_run: Path, workdir: Path, tmp_path: Path) -> None:
    run_dir = copy_run(trained_run, tmp_path / "mine")
    other = copy_run(trained_run, tmp_path / "other")
    link = tmp_path / "innocent-looking"
    link.symlink_to(other / "checkpoints", target_is_directory=True)
    before = sorted((other / "checkpoints").rglob("*"))
    for out in (other / "checkpoints", other / "checkpoints" / "pictures", link, link / "pictures"):
        result = run_genlab("sample", f"checkpoint={run_dir}", f"out={out}", cwd=workdir)
        refused(result, f"out={out}", "checkpoints/")
    assert sorted((other / "checkpoints").rglob("*")) == before
    assert not (run_dir / "renders").exists()


def test_a_renders_link_out_of_the_run_is_not_followed(trained_run: Path, workdir: Path, tmp_path: Path) -> None:
    run_dir = copy_run(trained_run, tmp_path / "received")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (run_dir / "renders").symlink_to(elsewhere, target_is_directory=True)
    refused(run_genlab("sample", f"checkpoint={run_dir}", cwd=workdir), "leads out of the run directory", "out=DIR")
    assert list(elsewhere.iterdir()) == []


def test_a_cache_folder_named_by_a_received_run_is_not_created(
    workdir: Path, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Image folders are cached on disk: the sender's dataset.cache_dir must not be made here."""
    import fakedata

    folder = fakedata.write_image_folder(tmp_path_factory.mktemp("pictures"), n=24, size=32)
    args = ["dataset=folder", f"dataset.path={folder}", "dataset.image_size=32"]
    run_dir = tmp_path / "received"
    trained = run_genlab(*tiny_train_args("ae", args, steps=5), "trainer.steps_per_loop=5", f"hydra.run.dir={run_dir}", cwd=workdir)
    assert trained.returncode == 0, trained.output
    chosen_by_sender = tmp_path / "sender" / "cache"
    edit_config(run_dir, set_key("dataset", "cache_dir", str(chosen_by_sender)))
    result = run_genlab("reconstruct", f"checkpoint={run_dir}", f"out={tmp_path / 'pictures-out'}", cwd=workdir)
    assert result.returncode == 0, result.output
    assert not (tmp_path / "sender").exists()
    assert list((tmp_path / "pictures-out").glob("*.png"))


# ----------------------------------------------------------------------------- source guards


def modules() -> list[tuple[Path, ast.Module]]:
    return [(path, ast.parse(path.read_text(), str(path))) for path in sorted(PACKAGE.rglob("*.py"))]


def dotted(node: ast.AST) -> str:
    """``np.load`` for the callee ``np.load``; '' for anything that is not a plain name path."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = dotted(node.value)
        return f"{base}.{node.attr}" if base else ""
    return ""


def keyword_is(call: ast.Call, name: str, value: object) -> bool:
    return any(k.arg == name and isinstance(k.value, ast.Constant) and k.value.value is value for k in call.keywords)


UNSAFE_MODULES = {"pickle", "cPickle", "_pickle", "dill", "joblib", "shelve", "marshal", "cloudpickle"}
UNSAFE_CALLS = {"eval", "exec", "compile", "__import__", "instantiate", "hydra.utils.instantiate", "yaml.load", "yaml.unsafe_load", "yaml.full_load"}


def test_no_module_imports_pickle_or_calls_an_unsafe_loader() -> None:
    problems = []
    for path, tree in modules():
        where = path.relative_to(PACKAGE.parent)
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name.split(".")[0] for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [(node.module or "").split(".")[0]] + [alias.name for alias in node.names]
            else:
                names = []
            problems += [f"{where}:{node.lineno} imports {name}" for name in names if name in UNSAFE_MODULES]
            if not isinstance(node, ast.Call):
                continue
            callee = dotted(node.func)
            if callee in UNSAFE_CALLS:
                problems.append(f"{where}:{node.lineno} calls {callee}")
            if callee.endswith(("np.load", "numpy.load")) and not keyword_is(node, "allow_pickle", False):
                problems.append(f"{where}:{node.lineno} calls {callee} without allow_pickle=False")
            if callee.endswith("load_model") and not keyword_is(node, "safe_mode", True):
                problems.append(f"{where}:{node.lineno} calls {callee} without safe_mode=True")
    assert not problems, "\n".join(problems)


def test_modules_are_imported_only_from_genlabs_own_tables() -> None:
    """import_module takes a table entry, an f-string inside genlab or, in a function that looked the
    model up among the installed ones (model_spec), that model's module; never a name read from a file as is."""
    calls = []
    for path, tree in modules():
        registry_lookups = {
            id(call)
            for function in ast.walk(tree)
            if isinstance(function, ast.FunctionDef)
            and any(isinstance(node, ast.Call) and dotted(node.func) == "model_spec" for node in ast.walk(function))
            for call in ast.walk(function)
        }
        for node in ast.walk(tree):
            if id(node) in registry_lookups:
                continue
            if isinstance(node, ast.Call) and dotted(node.func).endswith("import_module"):
                argument = node.args[0]
                inside_genlab = (
                    isinstance(argument, ast.JoinedStr)
                    and isinstance(argument.values[0], ast.Constant)
                    and str(argument.values[0].value).startswith("genlab.")
                )
                if not (inside_genlab or isinstance(argument, ast.Subscript)):
                    calls.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno}")
    assert not calls, calls
