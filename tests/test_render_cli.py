"""The render commands end to end through the real `genlab` CLI, on the tiny trained runs.

Several renders run as one Hydra sweep (`-m`), which imports TensorFlow once for all of them.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from omegaconf import OmegaConf
from PIL import Image

from conftest import Result, run_genlab
from genlab.render.gif import count_frames
from genlab.render.grid import grid_layout, to_uint8
from genlab.render.paths import number

TILE = (28, 28)  # the IDX test data set's image size
LATENT_DIM = 4
NUM_TEST = 32

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def runs(trained_runs: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Copies of the shared runs: renders written into a run stay out of the shared ones."""
    root = tmp_path_factory.mktemp("render-runs")
    return {name: Path(shutil.copytree(run_dir, root / name)) for name, run_dir in trained_runs.items()}


def render(*args: str, cwd: Path) -> list[Path]:
    """Run a render command that must succeed; the paths it printed."""
    result = run_genlab(*args, cwd=cwd)
    assert result.returncode == 0, result.output
    assert "Traceback" not in result.output
    paths = [Path(line) for line in result.stdout.splitlines() if line.strip()]
    assert paths and all(path.is_absolute() and path.is_file() for path in paths), result.stdout
    return paths


def by_name(paths: list[Path]) -> dict[str, Path]:
    return {f"{path.parent.parent.parent.name}/{path.name}": path for path in paths}


def pixels(path: Path) -> np.ndarray:
    picture = np.asarray(Image.open(path))
    return picture[..., np.newaxis] if picture.ndim == 2 else picture


def size(path: Path) -> tuple[int, int]:
    width, height = Image.open(path).size
    return height, width


def grid_size(count: int, columns: int | None = None, **labels: object) -> tuple[int, int]:
    layout = grid_layout(count, TILE, columns, 2, **labels)
    return layout.height, layout.width


# ----------------------------------------------------------------------------- sample


def test_sample_every_model_into_the_run_and_seeds(runs: dict[str, Path], tmp_path: Path) -> None:
    checkpoints = ",".join(str(runs[name]) for name in ("vae", "ae", "gan"))
    result = run_genlab("sample", "-m", f"checkpoint={checkpoints}", "seed=0,1", "n=10", cwd=tmp_path)
    assert result.returncode == 0, result.output
    paths = [Path(line) for line in result.stdout.splitlines()]
    assert len(paths) == 6
    for name in ("vae", "ae", "gan"):
        seed0 = runs[name] / "renders" / "sample" / "sample_step20_seed0.png"
        seed1 = seed0.with_name("sample_step20_seed1.png")
        assert seed0 in paths and seed1 in paths
        assert size(seed0) == grid_size(10)  # a 4-column square grid: 3 rows
        assert not np.array_equal(pixels(seed0), pixels(seed1))
    assert "Gaussian fitted to the codes of 96 training images" in result.stderr
    assert list(tmp_path.iterdir()) == []  # nothing in the working directory: no outputs/, no log


def test_sample_same_seed_same_bytes_and_older_checkpoint(runs: dict[str, Path], tmp_path: Path) -> None:
    vae = runs["vae"]
    checkpoints = f"{vae},{vae / 'checkpoints' / 'ckpt-10'}"
    render("sample", "-m", f"checkpoint={checkpoints}", "out=pictures,again", "n=10", "columns=5", cwd=tmp_path)
    latest = tmp_path / "pictures" / "sample_step20_seed0.png"  # out= resolved from the working directory
    older = tmp_path / "pictures" / "sample_step10_seed0.png"
    assert size(latest) == grid_size(10, columns=5)
    assert not np.array_equal(pixels(latest), pixels(older))  # ckpt-10 has its own weights
    assert (tmp_path / "again" / latest.name).read_bytes() == latest.read_bytes()
    assert (tmp_path / "again" / older.name).read_bytes() == older.read_bytes()


# ----------------------------------------------------------------------------- reconstruct, manifold, latents


def test_reconstruct_paired_rows(runs: dict[str, Path], tmp_path: Path) -> None:
    paths = render("reconstruct", "-m", f"checkpoint={runs['vae']},{runs['ae']}", "n=12", "columns=5", cwd=tmp_path)
    assert [path.parent for path in paths] == [runs[name] / "renders" / "reconstruct" for name in ("vae", "ae")]
    for path in paths:
        # 12 inputs in rows of 5 (5, 5, 2), each row followed by its reconstructions
        assert size(path) == grid_size(30, columns=5)
        picture = pixels(path)
        layout = grid_layout(30, TILE, 5, 2)
        assert (layout.tile_at(picture, 4, 3) == 255).all()  # the short last rows are filled with blanks
        assert not (layout.tile_at(picture, 4, 1) == 255).all()


def test_manifold_grid(runs: dict[str, Path], tmp_path: Path) -> None:
    paths = render("manifold", "-m", f"checkpoint={runs['vae']},{runs['gan']}", "n=5", "dims=[1,3]", cwd=tmp_path)
    assert [path.name for path in paths] == ["manifold_step20_dims1-3.png"] * 2
    for path in paths:
        assert size(path) == grid_size(25, columns=5)


def test_latents_plots(runs: dict[str, Path], tmp_path: Path) -> None:
    scatter, histograms = render("latents", f"checkpoint={runs['vae']}", "n=20", "out=plots", cwd=tmp_path)
    assert scatter.name == "latents_step20_scatter_seed0.png"
    assert histograms.name == "latents_step20_histograms_seed0.png"
    for path in (scatter, histograms):
        assert min(size(path)) > 200


# ----------------------------------------------------------------------------- progress


def test_progress_gif_frames_in_step_order(runs: dict[str, Path], tmp_path: Path) -> None:
    vae = runs["vae"]
    paths = render("progress", "-m", f"checkpoint={vae},{vae / 'checkpoints' / 'ckpt-10'}", "fps=4", cwd=tmp_path)
    latest, older = paths
    assert count_frames(latest) == 3  # steps 0, 10, 20
    assert count_frames(older) == 2  # up to the checkpoint's step
    frame = pixels(vae / "progress" / "step_0000020.png")
    with Image.open(latest) as gif:
        assert gif.info["duration"] == 250 and gif.info["loop"] == 0
        height = gif.size[1]
    assert height == frame.shape[0] + grid_layout(1, frame.shape[:2], padding=0, caption="step 20").top
    plain = render("progress", f"checkpoint={vae}", "labels=false", "out=plain", cwd=tmp_path)[0]
    assert size(plain) == frame.shape[:2]


# ----------------------------------------------------------------------------- traverse


def test_traversal_rows_decode_to_the_written_tiles(runs: dict[str, Path], tmp_path: Path) -> None:
    png, gif = render("traverse", f"checkpoint={runs['vae']}", "dims=[0,2]", "index=3", "out=t", cwd=tmp_path)
    assert png.name == "traverse_step20_index3.png"
    values = np.linspace(-3.0, 3.0, 9)
    layout = grid_layout(18, TILE, 9, 2, row_labels=["z0", "z2"], column_labels=[number(value) for value in values])
    picture = pixels(png)
    assert picture.shape[:2] == (layout.height, layout.width)
    assert count_frames(gif) == 2 * 9 - 2  # forward and back

    from genlab.data import load_dataset
    from genlab.data.pixels import scale
    from genlab.rundir.restore import restore_run

    restored = restore_run(str(runs["vae"]))
    model, config = restored.model, restored.config
    test_image = load_dataset(config.dataset).test_images[3:4]
    base = model.encode(scale(test_image, model.pixel_range, config.dataset.binarize)).numpy()[0]
    for row, dim in enumerate([0, 2]):
        codes = np.tile(base, (9, 1))
        codes[:, dim] = values  # only this dimension moves along the row
        expected = to_uint8(model.decode(codes).numpy()).astype(int)
        tiles = np.stack([layout.tile_at(picture, row, column) for column in range(9)]).astype(int)
        assert np.abs(tiles - expected).max() <= 1
        assert not np.array_equal(tiles[0], tiles[-1])


def test_traverse_default_rows(runs: dict[str, Path], tmp_path: Path) -> None:
    result = run_genlab("traverse", "-m", f"checkpoint={runs['vae']},{runs['gan']}", "columns=5", cwd=tmp_path)
    assert result.returncode == 0, result.output
    vae_png, vae_gif, gan_png, gan_gif = (Path(line) for line in result.stdout.splitlines())
    assert "dimensions by mean KL" in result.stderr
    assert gan_png.name == "traverse_step20_zero.png"  # a GAN starts from the zero vector
    for png, gif in ((vae_png, vae_gif), (gan_png, gan_gif)):
        rows = [f"z{dim}" for dim in range(LATENT_DIM)]  # every dimension: latent_dim < max_rows
        assert size(png) == grid_size(4 * 5, 5, row_labels=rows, column_labels=["-3"] * 5)
        assert count_frames(gif) == 8


# ----------------------------------------------------------------------------- interpolate, arithmetic


def test_interpolate_strip_and_gif(runs: dict[str, Path], tmp_path: Path) -> None:
    checkpoints = f"checkpoint={runs['ae']},{runs['gan']}"
    paths = render("interpolate", "-m", checkpoints, "method=lerp,slerp", "steps=6", "a=2", "b=5", cwd=tmp_path)
    names = by_name(paths)
    assert set(names) == {
        f"{model}/interpolate_step20_2-5_{method}.{kind}"
        for model in ("ae", "gan")
        for method in ("lerp", "slerp")
        for kind in ("png", "gif")
    }
    for name, path in names.items():
        if name.endswith(".png"):
            assert size(path) == grid_size(6, columns=6)
        else:
            assert count_frames(path) == 2 * 6 - 2
    lerp = pixels(names["gan/interpolate_step20_2-5_lerp.png"])
    slerp = pixels(names["gan/interpolate_step20_2-5_slerp.png"])
    first = grid_layout(6, TILE, 6, 2)
    np.testing.assert_array_equal(first.tile_at(lerp, 0, 0), first.tile_at(slerp, 0, 0))  # same ends
    assert not np.array_equal(lerp, slerp)


def test_arithmetic_grid_and_gif(runs: dict[str, Path], tmp_path: Path) -> None:
    png, gif = render(
        "arithmetic", f"checkpoint={runs['vae']}", "attribute=3", "n=4", "alphas=[-1,0,1]", "out=arith", cwd=tmp_path
    )
    assert png.name == "arithmetic_step20_3_seed0.png"
    assert size(png) == grid_size(12, 3, column_labels=["-1", "+0", "+1"])
    assert count_frames(gif) == 3


# ----------------------------------------------------------------------------- bad input

# (case, command line with {placeholders} for the runs, what the error message says)
BAD_INPUT = [
    ("missing checkpoint", "sample", "checkpoint= is required"),
    ("wrong path", "sample checkpoint={tmp}/nowhere", "no such file or directory"),
    ("not a run", "sample checkpoint={tmp}", "is not a genlab run directory"),
    ("no checkpoint", "sample checkpoint={unstarted}", "the run has no checkpoint yet"),
    (
        "bad prefix",
        "sample checkpoint={vae}/checkpoints/ckpt-99",
        "no checkpoint ckpt-99; checkpoints in {vae}/checkpoints: ckpt-10, ckpt-20",
    ),
    ("mismatch", "sample checkpoint={mismatch}", "does not match the model described by {mismatch}/.hydra/config.yaml"),
    ("index", "interpolate checkpoint={vae} b=32", "b=32 is out of range: the test set has 32 images"),
    ("dimension", "manifold checkpoint={vae} dims=[0,4]", "dimension 4 does not exist; the model's latent_dim is 4"),
    ("no encoder", "reconstruct checkpoint={gan}", "genlab reconstruct needs an encoder, and a gan model has none"),
    ("attribute", "arithmetic checkpoint={vae} attribute=Sneaker", "valid: 0, 1, 2, 3, 4, 5, 6, 7, 8, 9"),
    ("out in checkpoints", "sample checkpoint={vae} out={vae}/checkpoints/pictures", "inside a run's checkpoints/"),
    ("range", "traverse checkpoint={vae} columns=1", "columns must be >= 2 (got 1)"),
]


@pytest.fixture(scope="module")
def broken_runs(runs: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("broken")
    unstarted = Path(shutil.copytree(runs["vae"], root / "unstarted"))
    shutil.rmtree(unstarted / "checkpoints")
    mismatch = Path(shutil.copytree(runs["vae"], root / "mismatch"))
    config = OmegaConf.load(mismatch / ".hydra" / "config.yaml")
    config.latent_dim = config.model.latent_dim = LATENT_DIM + 2
    OmegaConf.save(config, mismatch / ".hydra" / "config.yaml")
    return {"unstarted": unstarted, "mismatch": mismatch}


@pytest.mark.parametrize("case, command, message", BAD_INPUT, ids=[case for case, _, _ in BAD_INPUT])
def test_bad_input(
    case: str, command: str, message: str, runs: dict[str, Path], broken_runs: dict[str, Path], tmp_path: Path
) -> None:
    places = {**{name: str(path) for name, path in {**runs, **broken_runs}.items()}, "tmp": str(tmp_path)}
    result: Result = run_genlab(*command.format(**places).split(), cwd=tmp_path)
    assert result.returncode == 2, result.output
    assert message.format(**places) in result.stderr
    assert "genlab: error:" in result.stderr
    assert "Traceback" not in result.output
    assert result.stdout == ""
    assert not (tmp_path / "outputs").exists()
