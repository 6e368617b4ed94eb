"""Class-conditional VAE and GAN (and a VAE conditioned on CelebA attributes) through the real CLI:
they train, resume bit for bit, render one row per condition, keep a condition fixed, swap it in
arithmetic, evaluate, and refuse what does not apply in one line."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from genlab.errors import GenlabError

import fakedata
from conftest import GENLAB, TEST_CONFIGS, checkpoint_values, kill_at_checkpoint, run_genlab, train_presets

pytestmark = pytest.mark.slow

STEPS = 30
WATCHED = {"tiny_cvae": "loss", "tiny_cgan": "d_loss"}


@pytest.fixture(scope="module")
def conditional_runs(idx_dataset_args: list[str], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    workdir = tmp_path_factory.mktemp("conditional")
    return train_presets(list(WATCHED), *idx_dataset_args, f"trainer.steps={STEPS}", sweep=workdir / "runs", cwd=workdir)


def error_lines(stderr: str) -> int:
    return sum(line.startswith("genlab: error") for line in stderr.splitlines())


def refused_in_one_line(result, *words: str) -> None:
    assert result.returncode != 0, result.output
    assert error_lines(result.stderr) == 1 and "Traceback" not in result.output, result.output
    for word in words:
        assert word in result.stderr, (word, result.stderr)


def history(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "history.jsonl").read_text().splitlines()]


def picture(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image)


@pytest.mark.parametrize("preset", WATCHED)
def test_conditional_models_train_with_finite_falling_losses(preset: str, conditional_runs: dict[str, Path]) -> None:
    entries = history(conditional_runs[preset])
    assert [entry["step"] for entry in entries] == list(range(5, STEPS + 1, 5))
    assert all(np.isfinite(value) for entry in entries for value in entry.values())
    watched = [entry[WATCHED[preset]] for entry in entries]
    assert watched[-1] < watched[0], watched
    assert "conditioned on the class (one-hot" in (conditional_runs[preset] / "train.log").read_text()


@pytest.mark.parametrize("preset", WATCHED)
def test_changing_only_the_label_changes_the_sample(preset: str, conditional_runs: dict[str, Path]) -> None:
    import genlab

    run = genlab.load_run(conditional_runs[preset])
    model = run.model
    assert model.has_condition and model.condition_names == tuple(str(digit) for digit in range(10))
    codes = np.repeat(np.random.default_rng(0).standard_normal((1, model.latent_dim)).astype(np.float32), 10, axis=0)
    every_class = np.eye(10, dtype=np.float32)
    images = run.decode(codes, every_class)
    again = run.decode(codes, every_class)
    np.testing.assert_array_equal(images, again)  # the same code and label give the same image
    differences = [np.abs(images[0] - images[label]).max() for label in range(1, 10)]
    assert min(differences) > 0, differences  # only the label changed, and every image differs from class 0's
    with pytest.raises(GenlabError, match="conditional"):
        run.decode(codes)


def test_a_sample_grid_has_one_row_per_class(conditional_runs: dict[str, Path], tmp_path: Path) -> None:
    from genlab.render.grid import grid_layout

    for preset in WATCHED:
        run_dir = conditional_runs[preset]
        for extra, labels in (([], [str(digit) for digit in range(10)]), (["classes=[3,7]"], ["3", "7"])):
            out = tmp_path / preset / str(len(labels))
            result = run_genlab("sample", str(run_dir), "columns=4", f"out={out}", *extra, cwd=tmp_path)
            assert result.returncode == 0, result.output
            grid = picture(next(out.glob("*.png")))
            layout = grid_layout(4 * len(labels), (28, 28), 4, 2, labels, None, None)
            assert grid.shape[:2] == (layout.height, layout.width), (preset, extra)
            # rows hold different classes: each row's tiles differ from the next row's
            y0, x0 = layout.origin(0, 0)
            y1, _ = layout.origin(1, 0)
            assert not np.array_equal(grid[y0 : y0 + 28, x0 : x0 + 28], grid[y1 : y1 + 28, x0 : x0 + 28])


def test_every_command_works_or_refuses_in_one_line(conditional_runs: dict[str, Path], tmp_path: Path) -> None:
    cvae, cgan = conditional_runs["tiny_cvae"], conditional_runs["tiny_cgan"]
    commands = {
        cvae: [
            ["reconstruct"],
            ["traverse", "dims=[0,1]", "columns=3"],
            ["traverse", "classes=[4]", "dims=[0]", "columns=3"],
            ["manifold", "n=3", "classes=[2]"],
            ["latents", "n=16"],
            ["arithmetic", "attribute=3", "n=2", "alphas=[0,1]"],
        ],
        cgan: [
            ["traverse", "dims=[0,1]", "columns=3", "classes=[5]"],
            ["manifold", "n=3"],
        ],
    }
    for run_dir, runs in commands.items():
        for command in runs:
            result = run_genlab(*command[:1], str(run_dir), *command[1:], cwd=tmp_path)
            assert result.returncode == 0, (command, result.output)
            written = [Path(line) for line in result.stdout.splitlines() if line.strip()]
            assert written and all(path.is_file() and path.stat().st_size > 0 for path in written), command
    # The commands both runs take with the same keys: one `-m` process renders each of them for both.
    for command in (["interpolate", "a=0", "b=1", "steps=3"], ["progress"]):
        result = run_genlab(command[0], "-m", f"checkpoint={cvae},{cgan}", *command[1:], cwd=tmp_path)
        assert result.returncode == 0, (command, result.output)
        written = [Path(line) for line in result.stdout.splitlines() if line.strip()]
        assert all(path.is_file() and path.stat().st_size > 0 for path in written), command
        for run_dir in (cvae, cgan):
            assert any(path.is_relative_to(run_dir) for path in written), (command, run_dir, written)
    assert list((cvae / "renders" / "traverse").glob("*_4.png"))  # the condition kept is named
    assert list((cvae / "renders" / "manifold").glob("*_2.png"))

    refused_in_one_line(run_genlab("reconstruct", str(cgan), cwd=tmp_path), "encoder")
    refused_in_one_line(run_genlab("sample", str(cvae), "classes=[cat]", cwd=tmp_path), "'cat'", "classes")
    refused_in_one_line(run_genlab("sample", str(cvae), "attributes=[Smiling]", cwd=tmp_path), "classes=")


def test_arithmetic_swaps_the_condition_of_a_conditional_model(conditional_runs: dict[str, Path]) -> None:
    """alpha 0 is the image's reconstruction under its own class, alpha 1 its code under the class named."""
    import genlab

    run = genlab.load_run(conditional_runs["tiny_cvae"])
    pictures = genlab.render_run(run, "arithmetic", attribute="3", n=2, alphas=[0.0, 1.0], labels=False, padding=0)
    grid = next(array for path, array in pictures.items() if Path(path).suffix == ".png")
    labels = np.argmax(run.conditions("test"), axis=1)
    candidates = np.flatnonzero(labels != 3)
    chosen = np.sort(np.random.default_rng(0).choice(candidates, 2, replace=False))
    images = run.test_images(chosen)
    own = run.conditions("test", chosen)
    swapped = np.zeros_like(own)
    swapped[:, 3] = 1.0
    codes = run.encode(images, own)
    expected = [run.decode(codes, own), run.decode(codes, swapped)]
    for row in range(2):
        for column in range(2):
            tile = grid[row * 28 : (row + 1) * 28, column * 28 : (column + 1) * 28]  # the PNG read back, in [0, 1]
            assert np.abs(tile - expected[column][row]).max() <= 1.01 / 255, (row, column)


def test_evaluate_and_report_a_conditional_run(conditional_runs: dict[str, Path], tmp_path: Path) -> None:
    for preset in WATCHED:
        run_dir = conditional_runs[preset]
        result = run_genlab("evaluate", str(run_dir), "n=32", "k=2", "features=domain", cwd=tmp_path)
        assert result.returncode == 0, result.output
        metrics = json.loads((run_dir / "metrics.json").read_text())["metrics"]
        assert 0.0 <= metrics["condition_accuracy"] <= 1.0
        assert np.isfinite(metrics["fd_domain"])
        if preset == "tiny_cvae":
            assert np.isfinite(metrics["elbo"]) and np.isfinite(metrics["mse"])
        else:
            assert "d_score_gap" in metrics


@pytest.mark.parametrize("preset", WATCHED)
def test_kill_and_resume_of_a_conditional_model_is_bit_exact(
    preset: str, conditional_runs: dict[str, Path], idx_dataset_args: list[str], tmp_path: Path
) -> None:
    killed = tmp_path / "killed"
    command = [
        GENLAB, "train", f"experiment={preset}", f"hydra.searchpath=[file://{TEST_CONFIGS}]",
        *idx_dataset_args, "trainer.steps=100000", f"hydra.run.dir={killed}",
    ]  # fmt: skip
    kill_at_checkpoint(command, killed / "checkpoints" / "ckpt-10", tmp_path)
    resumed = run_genlab("train", f"resume={killed}", f"trainer.steps={STEPS}", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.output
    assert "resuming from" in resumed.output
    ours, theirs = checkpoint_values(conditional_runs[preset]), checkpoint_values(killed)
    assert ours.keys() == theirs.keys() and len(ours) > 10
    for name in ours:
        assert np.array_equal(ours[name], theirs[name]), name


def test_conditions_that_do_not_fit_the_data_or_model_are_refused(idx_dataset_args: list[str], tmp_path: Path) -> None:
    base = ["train", "experiment=tiny_vae", f"hydra.searchpath=[file://{TEST_CONFIGS}]", "trainer.steps=2"]
    refused_in_one_line(
        run_genlab(*base, *idx_dataset_args, "condition=attributes", f"hydra.run.dir={tmp_path / 'a'}", cwd=tmp_path),
        "has no attributes",
    )
    refused_in_one_line(
        run_genlab(*base, "model=vqvae", *idx_dataset_args, "condition=class", cwd=tmp_path), "takes no condition"
    )
    refused_in_one_line(
        run_genlab(*base, *idx_dataset_args, "condition=class", "model.condition.attributes=[Smiling]", cwd=tmp_path),
        "model.condition.attributes",
    )
    assert not (tmp_path / "a").exists() or not any((tmp_path / "a").iterdir())


def test_a_vae_conditioned_on_celeba_attributes(tmp_path: Path) -> None:
    """Streamed batches carry the chosen attributes; rows are attribute sets; arithmetic on an attribute
    outside the condition falls back to the attribute vector."""
    root = fakedata.write_celeba(tmp_path / "celeba", n=60)
    run_dir = tmp_path / "run"
    trained = run_genlab(
        "train", "experiment=tiny_vae", f"hydra.searchpath=[file://{TEST_CONFIGS}]",
        "dataset=celeba", f"dataset.path={root}", "dataset.image_size=16", "trainer.steps=10",
        "condition=attributes", "model.condition.attributes=[Smiling,Male]", "model.condition.embedding_dim=3",
        f"hydra.run.dir={run_dir}", cwd=tmp_path,
    )  # fmt: skip
    assert trained.returncode == 0, trained.output
    assert "conditioned on attributes (a learned 3-value embedding): Smiling, Male" in trained.output
    assert all(np.isfinite(entry["loss"]) for entry in history(run_dir))

    out = tmp_path / "rows"
    sampled = run_genlab("sample", str(run_dir), "attributes=[none,Smiling,Smiling+Male]", "columns=2", f"out={out}", cwd=tmp_path)
    assert sampled.returncode == 0, sampled.output
    assert "one row per condition: none, Smiling, Smiling+Male" in sampled.output
    for attribute in ("Smiling", "Eyeglasses"):
        result = run_genlab("arithmetic", str(run_dir), f"attribute={attribute}", "n=2", cwd=tmp_path)
        assert result.returncode == 0, result.output
        assert ("alpha 0 keeps each image's condition" in result.output) == (attribute == "Smiling")
    refused_in_one_line(run_genlab("sample", str(run_dir), "attributes=[Smiles]", cwd=tmp_path), "'Smiles'", "Smiling")
    refused_in_one_line(
        run_genlab(
            "train", f"dataset.path={root}", "dataset=celeba", "condition=class", f"hydra.run.dir={tmp_path / 'c'}", cwd=tmp_path
        ),
        "has no class labels",
    )
