"""Comparing variants through the real CLI, on tiny data: images made elsewhere scored as a run's samples
are, copying flagged (`evaluate`'s nearest-neighbour ratio, `genlab neighbours`), and the report's
seed groups and training curves."""
from __future__ import annotations

import csv
import json
import math
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import run_genlab, tiny_sweep_args
from genlab.render.grid import grid_layout

pytestmark = pytest.mark.slow

SMALL = ["n=16", "k=4", "kid_subsets=10"]
SAMPLE_METRICS = [
    f"{name}_domain" for name in ("fd", "kid", "kid", "precision", "recall", "density", "coverage", "nn_ratio")
] + ["kid_domain_std"]


@pytest.fixture(scope="module")
def runs(trained_runs: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("compare-runs")
    return {name: Path(shutil.copytree(run_dir, root / name)) for name, run_dir in trained_runs.items()}


def scores(path: Path) -> dict:
    return json.loads(path.read_text())


def idx_images(idx_dataset_args: list[str], split: str) -> np.ndarray:
    from genlab.config.schema import DatasetConfig
    from genlab.data import load_dataset

    path = next(arg.partition("=")[2] for arg in idx_dataset_args if arg.startswith("dataset.path="))
    data = load_dataset(DatasetConfig(name="mnist", path=path, download=False))
    return np.asarray(data.train_images if split == "train" else data.test_images)


def test_exported_samples_score_as_the_run_and_copies_are_flagged(
    runs: dict[str, Path], idx_dataset_args: list[str], tmp_path: Path
) -> None:
    exported = tmp_path / "exported"
    evaluated = run_genlab("evaluate", str(runs["gan"]), *SMALL, f"save_samples={exported}", cwd=tmp_path)
    assert evaluated.returncode == 0, evaluated.output
    run_scores = scores(runs["gan"] / "metrics.json")
    pngs = sorted(exported.glob("*.png"))
    assert len(pngs) == run_scores["counts"]["sample_images"] == 16
    as_array = np.stack([np.asarray(Image.open(path)) for path in pngs])
    np.savez(tmp_path / "exported.npz", samples=as_array.astype(np.float32) / 255.0)

    # copies: training images themselves; unseen: the test split (the ratio's reference), given as .npy
    train, test = idx_images(idx_dataset_args, "train"), idx_images(idx_dataset_args, "test")
    np.save(tmp_path / "copies.npy", train[:32])
    np.save(tmp_path / "unseen.npy", test)
    sources = [exported, tmp_path / "exported.npz", tmp_path / "copies.npy", tmp_path / "unseen.npy"]
    scored = run_genlab(
        "evaluate", "-m", f"samples={','.join(map(str, sources))}", *idx_dataset_args, *SMALL, cwd=tmp_path
    )
    assert scored.returncode == 0, scored.output
    assert "Traceback" not in scored.output
    folder, npz, copies, unseen = (
        scores(exported / "metrics.json"),
        *(scores(tmp_path / f"{name}.metrics.json") for name in ("exported", "copies", "unseen")),
    )
    for external in (folder, npz):  # the same numbers as `evaluate checkpoint=`, bit for bit
        assert external["settings"] == run_scores["settings"]
        for metric in SAMPLE_METRICS:
            assert external["metrics"][metric] == run_scores["metrics"][metric], metric
        assert external["counts"]["fd_images"] == run_scores["counts"]["fd_images"] == 16
        assert "d_accuracy_real" not in external["metrics"]  # no discriminator to ask
    assert folder["samples"] == str(exported) and f"metrics: {exported / 'metrics.json'}" in scored.stdout
    assert copies["metrics"]["nn_ratio_domain"] < 0.2 < unseen["metrics"]["nn_ratio_domain"]
    assert unseen["counts"]["sample_images"] == 16 and unseen["counts"]["images_given"] == 32
    assert any("the first 16 of the 32 images were scored" in note for note in unseen["notes"])
    assert copies["counts"]["train_images"] == len(train)  # the whole training split is searched


def test_neighbours_draws_each_sample_beside_its_nearest_training_images(
    runs: dict[str, Path], idx_dataset_args: list[str], tmp_path: Path
) -> None:
    result = run_genlab("neighbours", str(runs["vae"]), "n=3", "k=2", f"out={tmp_path}", cwd=tmp_path)
    assert result.returncode == 0, result.output
    (path,) = [Path(line) for line in result.stdout.split()]
    assert path.name == "neighbours_step20_seed0.png"
    picture = np.asarray(Image.open(path))
    caption = "each row: a sample, 2 nearest in domain features then 2 nearest in pixels (of 96 training images)"
    layout = grid_layout(3 * 5, (28, 28), 5, 2, caption=caption)
    assert picture.shape[:2] == (layout.height, layout.width)
    train = idx_images(idx_dataset_args, "train")[..., 0]
    flat = train.reshape(len(train), -1).astype(np.float64)
    for row in range(3):
        sample = layout.tile_at(picture, row, 0).astype(np.float64).reshape(-1)
        distances = np.linalg.norm(flat - sample, axis=1)
        for column in range(1, 5):  # every neighbour shown is a training image
            tile = layout.tile_at(picture, row, column)
            assert np.any(np.all(train == tile, axis=(1, 2))), (row, column)
        nearest_in_pixels = layout.tile_at(picture, row, 3).astype(np.float64).reshape(-1)
        # the sample in the PNG is rounded to 8 bits: its nearest image may only differ within that rounding
        assert np.linalg.norm(nearest_in_pixels - sample) <= distances.min() + 0.5 * math.sqrt(len(sample))


def test_report_groups_seeds_draws_curves_and_lists_images_made_elsewhere(
    runs: dict[str, Path], idx_dataset_args: list[str], tmp_path: Path
) -> None:
    sweep = tmp_path / "sweep"
    trained = run_genlab(*tiny_sweep_args(idx_dataset_args, sweep, "beta=1,4", "seed=0,1"), cwd=tmp_path)
    assert trained.returncode == 0, trained.output
    # images made elsewhere, scored with the report's settings, inside the directory it reads
    notebook = sweep / "notebook"
    np.save(notebook.with_suffix(".npy"), idx_images(idx_dataset_args, "test")[:16])
    scored = run_genlab("evaluate", f"samples={notebook.with_suffix('.npy')}", *idx_dataset_args, *SMALL, cwd=tmp_path)
    assert scored.returncode == 0, scored.output

    reported = run_genlab("report", str(sweep), *SMALL, cwd=tmp_path)
    assert reported.returncode == 0, reported.output
    names = ("report.md", "report.csv", "report_groups.csv", "contact_sheet.png", "curves.png")
    assert reported.stdout.split() == [str(sweep / name) for name in names]

    rows = list(csv.DictReader((sweep / "report.csv").open()))
    assert [(row["beta"], row["seed"]) for row in rows[:4]] == [("1", "0"), ("1", "1"), ("4", "0"), ("4", "1")]
    assert rows[4]["run"] == "notebook.npy" and rows[4]["beta"] == "" and math.isfinite(float(rows[4]["fd_domain"]))
    groups = list(csv.DictReader((sweep / "report_groups.csv").open()))
    assert [(group["beta"], group["seeds"], group["seed_values"]) for group in groups[:2]] == [("1", "2", "0;1"), ("4", "2", "0;1")]
    for group, members in zip(groups, (rows[:2], rows[2:4])):
        for metric in ("fd_domain", "elbo", "train_loss"):
            values = [float(row[metric]) for row in members]
            assert float(group[f"{metric}_mean"]) == pytest.approx(np.mean(values), rel=1e-9)
            assert float(group[f"{metric}_std"]) == pytest.approx(np.std(values, ddof=1), rel=1e-9)
            assert group[f"{metric}_n"] == "2"
    assert groups[2]["samples"] == "notebook.npy" and groups[2]["seeds"] == "1"

    markdown = (sweep / "report.md").read_text()
    assert "## Seeds" in markdown and "| beta=1 | 2 (0, 1) |" in markdown and "![training curves" in markdown
    assert "- fd_domain: " in markdown  # a verdict, named or not, for each metric with a better side
    curves = np.asarray(Image.open(sweep / "curves.png"))
    assert curves.ndim == 3 and curves.shape[0] > 300 and curves.shape[1] > 300 and curves.std() > 0
