"""The GAN variants (WGAN-GP, hinge with spectral norm, a generator average) and the dense autoencoder
through the real CLI: they train, render, evaluate and report."""
from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import run_genlab, train_presets

pytestmark = pytest.mark.slow

PRESETS = {"tiny_wgan_gp": "d_loss", "tiny_hinge_sn_gan": "d_loss", "tiny_dense_ae": "loss"}


@pytest.fixture(scope="module")
def variant_runs(idx_dataset_args: list[str], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    workdir = tmp_path_factory.mktemp("variants")
    return train_presets(list(PRESETS), *idx_dataset_args, "trainer.steps=30", sweep=workdir / "runs", cwd=workdir)


def error_lines(stderr: str) -> int:
    """The lines of a refusal (an info line about the run loaded may come before it)."""
    return sum(line.startswith("genlab: error") for line in stderr.splitlines())


def history(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "history.jsonl").read_text().splitlines()]


@pytest.mark.parametrize("preset", PRESETS)
def test_each_variant_trains_with_finite_falling_losses(preset: str, variant_runs: dict[str, Path]) -> None:
    entries = history(variant_runs[preset])
    watched = [entry[PRESETS[preset]] for entry in entries]
    assert [entry["step"] for entry in entries] == [5, 10, 15, 20, 25, 30]
    assert all(np.isfinite(value) for entry in entries for value in entry.values())
    assert watched[-1] < watched[0], watched
    if preset == "tiny_wgan_gp":
        assert all(entry["gradient_penalty"] >= 0 for entry in entries)


def test_the_generator_average_is_saved_and_draws_the_samples(variant_runs: dict[str, Path], tmp_path: Path) -> None:
    import genlab
    import tensorflow as tf

    from conftest import checkpoint_values

    for preset in ("tiny_wgan_gp", "tiny_hinge_sn_gan"):
        saved = checkpoint_values(variant_runs[preset])
        assert any(name.startswith("generator_ema/") for name in saved), preset

    # the model draws with the average: its generator holds the checkpoint's generator_ema weights
    averaged = genlab.load_run(variant_runs["tiny_wgan_gp"], precise_bn=False)
    raw = genlab.load_run(variant_runs["tiny_wgan_gp"], precise_bn=False, average_weights=False)
    assert averaged.averaged and not raw.averaged
    saved = checkpoint_values(variant_runs["tiny_wgan_gp"])

    def sums(values) -> list[float]:
        return sorted(round(float(np.sum(value)), 4) for value in values)

    assert sums(averaged.model.generator.get_weights()) == sums(
        value for name, value in saved.items() if name.startswith("generator_ema/") and "OPTIMIZER_SLOT" not in name
    )
    codes = tf.constant(np.random.default_rng(0).standard_normal((4, 4)).astype(np.float32))
    assert not np.allclose(averaged.model.decode(codes).numpy(), raw.model.decode(codes).numpy())


def test_variants_render_and_report(variant_runs: dict[str, Path], tmp_path: Path) -> None:
    """`report` evaluates every run of the sweep in one process; each model renders what it can."""
    sweep = variant_runs["tiny_wgan_gp"].parent
    for preset, command in (("tiny_wgan_gp", "sample"), ("tiny_hinge_sn_gan", "interpolate"), ("tiny_dense_ae", "reconstruct")):
        rendered = run_genlab(command, str(variant_runs[preset]), cwd=tmp_path)
        assert rendered.returncode == 0, rendered.output
        pictures = sorted((variant_runs[preset] / "renders" / command).glob("*.png"))
        assert pictures, (preset, command)
        with Image.open(pictures[0]) as picture:
            assert np.asarray(picture).std() > 0

    refused = run_genlab("reconstruct", str(variant_runs["tiny_wgan_gp"]), cwd=tmp_path)
    assert refused.returncode != 0 and error_lines(refused.stderr) == 1 and "Traceback" not in refused.output

    reported = run_genlab("report", str(sweep), "k=2", "n=32", "features=domain", cwd=tmp_path)
    assert reported.returncode == 0, reported.output
    with open(sweep / "report.csv", newline="") as table:
        rows = {row["run"]: row for row in csv.DictReader(table)}
    assert set(rows) == set(PRESETS)
    for preset, row in rows.items():
        assert np.isfinite(float(row["fd_domain"])), (preset, row)
