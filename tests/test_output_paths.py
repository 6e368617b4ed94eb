"""Where genlab writes: never into a run's checkpoints/, whichever command and key names the path, however
the path reaches it (``..``, a symbolic link, a run's own renders/ link); refused in one line naming the
key, before any TensorFlow work."""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from conftest import run_genlab
from genlab.errors import GenlabError
from genlab.rundir.outputs import check_output_path, run_checkpoints_holding


def fake_run(root: Path) -> Path:
    (root / ".hydra").mkdir(parents=True)
    (root / ".hydra" / "config.yaml").write_text("{}\n")
    (root / "checkpoints").mkdir()
    (root / "renders").mkdir()
    return root


def test_the_rule_resolves_links_and_dot_dots(tmp_path: Path) -> None:
    run = fake_run(tmp_path / "run")
    (tmp_path / "link").symlink_to(run / "checkpoints")
    for inside in ("run/checkpoints", "run/checkpoints/pngs/a", "run/renders/../checkpoints/x", "link/sub"):
        assert run_checkpoints_holding(tmp_path / inside) == run / "checkpoints", inside
        with pytest.raises(GenlabError, match=r"^out=.*inside a run's checkpoints/ directory"):
            check_output_path("out", tmp_path / inside)
    tensorflow_only = tmp_path / "elsewhere" / "checkpoints"  # what TensorFlow's CheckpointManager writes, no run around it
    tensorflow_only.mkdir(parents=True)
    (tensorflow_only / "checkpoint").write_text('model_checkpoint_path: "ckpt-1"\n')
    assert run_checkpoints_holding(tensorflow_only / "x") == tensorflow_only
    with pytest.raises(GenlabError, match=r"^samples=a.npy: writes .*a.metrics.json, which is inside"):
        check_output_path("samples", "a.npy", run / "checkpoints" / "a.metrics.json")
    mine = tmp_path / "mine" / "checkpoints"  # a folder of the user's that happens to be named so
    mine.mkdir(parents=True)
    for outside in (mine / "x", run / "renders" / "x", run / "checkpoints_old", tmp_path / "run" / "renders"):
        assert check_output_path("out", outside) == outside.resolve()


@pytest.fixture(scope="module")
def run(trained_runs: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    copy = Path(shutil.copytree(trained_runs["vae"], tmp_path_factory.mktemp("outputs") / "run"))
    np.save(copy / "checkpoints" / "samples.npy", np.zeros((8, 28, 28), np.uint8))
    (copy.parent / "into_checkpoints").symlink_to(copy / "checkpoints")
    return copy


CASES = {
    "evaluate save_samples": (["evaluate", "checkpoint={run}", "save_samples={run}/checkpoints/pngs"], "save_samples"),
    "evaluate samples' scores": (["evaluate", "samples={run}/checkpoints/samples.npy", "dataset=mnist"], "samples"),
    "sample out with ..": (["sample", "checkpoint={run}", "out={run}/renders/../checkpoints/x"], "out"),
    "neighbours out by a link": (["neighbours", "checkpoint={run}", "out={run}/../into_checkpoints/sub"], "out"),
    # set in the composed config, not typed: the command's own check after Hydra
    "sample out from the config": (["sample", "checkpoint={run}", "out=${{oc.env:GENLAB_TEST_OUT}}"], "out"),
    "evaluate save_samples from the config": (["evaluate", "checkpoint={run}", "save_samples=${{oc.env:GENLAB_TEST_OUT}}"], "save_samples"),
    "report dir": (["report", "dir={run}/checkpoints"], "dir"),
    "train run dir": (["train", "hydra.run.dir={run}/checkpoints/new", "trainer.steps=1"], "hydra.run.dir"),
    "train sweep dir": (["train", "-m", "hydra.sweep.dir={run}/checkpoints/sweep", "trainer.steps=1"], "hydra.sweep.dir"),
    "train data cache": (["train", "dataset.cache_dir={run}/checkpoints/cache", "trainer.steps=1"], "dataset.cache_dir"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_every_writer_refuses_a_run_checkpoints_directory(run: Path, tmp_path: Path, case: str) -> None:
    arguments, key = CASES[case]
    before = sorted(path.name for path in (run / "checkpoints").iterdir())
    environment = {"GENLAB_TEST_OUT": f"{run}/renders/../checkpoints/y"}
    result = run_genlab(*(argument.format(run=run) for argument in arguments), cwd=tmp_path, env=environment)
    assert result.returncode == 2, result.output
    assert "Traceback" not in result.output
    (line,) = [line for line in result.output.splitlines() if line.startswith("genlab: error:")]
    assert line.startswith(f"genlab: error: {key}=") and "inside a run's checkpoints/ directory" in line
    assert sorted(path.name for path in (run / "checkpoints").iterdir()) == before


def test_a_renders_link_into_checkpoints_is_refused(run: Path, tmp_path: Path) -> None:
    linked = Path(shutil.copytree(run, tmp_path / "linked", symlinks=True))
    shutil.rmtree(linked / "renders", ignore_errors=True)
    (linked / "renders").symlink_to(linked / "checkpoints")
    result = run_genlab("sample", str(linked), cwd=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.output, result.output
    assert "leads into the run's checkpoints/ directory" in result.output
    assert not (linked / "checkpoints" / "sample").exists()
