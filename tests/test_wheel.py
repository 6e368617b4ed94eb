"""A plain (non-editable) wheel install works outside the checkout: conf/ ships inside the package."""
from __future__ import annotations

import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]


def run(*command: str, cwd: Path) -> subprocess.CompletedProcess:
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    return result


@pytest.fixture(scope="module")
def wheel_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtual environment with only the genlab wheel installed in it.

    Its dependencies are borrowed from the test environment through a .pth line, so no
    download is needed; the genlab package itself comes from the wheel.
    """
    root = tmp_path_factory.mktemp("wheel")
    dist = root / "dist"
    run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w", str(dist), str(REPO), cwd=root)
    wheel = next(dist.glob("genlab-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert "genlab/conf/train.yaml" in names and "genlab/conf/model/vae.yaml" in names
    assert "genlab/conf/hparams_search/fashion_vae.yaml" in names

    venv = root / "venv"
    run(sys.executable, "-m", "venv", str(venv), cwd=root)
    site_packages = Path(
        run(str(venv / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])", cwd=root)
        .stdout.strip()
    )
    (site_packages / "borrowed_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    run(str(venv / "bin" / "python"), "-m", "pip", "install", "--no-deps", "--no-index", str(wheel), cwd=root)
    return venv


def test_wheel_install_runs_help_and_a_short_training(
    wheel_venv: Path, idx_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    outside = tmp_path_factory.mktemp("elsewhere")
    python = str(wheel_venv / "bin" / "python")
    location = run(python, "-c", "import genlab.conf, os; print(os.path.dirname(genlab.conf.__file__))", cwd=outside)
    assert location.stdout.strip().startswith(str(wheel_venv))

    genlab = str(wheel_venv / "bin" / "genlab")
    help_text = run(genlab, "train", "--help", cwd=outside).stdout
    # genlab's own models (and the example package's, which the borrowed site-packages hold)
    models = next(line for line in help_text.splitlines() if line.startswith("model: "))
    assert {"ae", "gan", "vae"} <= set(models.removeprefix("model: ").split(", "))

    run(
        genlab,
        "train",
        "dataset=mnist",
        f"dataset.path={idx_dir}",
        "trainer.steps=2",
        "trainer.batch_size=8",
        "trainer.steps_per_loop=1",
        "trainer.log_every=1",
        "trainer.image_every=1",
        "trainer.checkpoint_every=1",
        cwd=outside,
    )
    assert list(outside.glob("outputs/vae-mnist/*/checkpoints/ckpt-2.index"))
