"""The VQ-VAE and its PixelCNN prior through the real CLI: two phases of one run, resumable in either."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import GENLAB, TEST_CONFIGS, checkpoint_values, kill_at_checkpoint, run_genlab, train_presets

pytestmark = pytest.mark.slow

VQVAE_STEPS, PRIOR_STEPS = 20, 15  # tests/conf/experiment/tiny_vqvae.yaml


@pytest.fixture(scope="module")
def vqvae_run(idx_dataset_args: list[str], tmp_path_factory: pytest.TempPathFactory) -> Path:
    workdir = tmp_path_factory.mktemp("vqvae")
    runs = train_presets(["tiny_vqvae"], *idx_dataset_args, f"trainer.steps={VQVAE_STEPS}", sweep=workdir / "runs", cwd=workdir)
    return runs["tiny_vqvae"]


def error_lines(stderr: str) -> int:
    """The lines of a refusal (an info line about the run loaded may come before it)."""
    return sum(line.startswith("genlab: error") for line in stderr.splitlines())


def history(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "history.jsonl").read_text().splitlines()]


def test_the_vqvae_then_its_prior_train_with_falling_losses(vqvae_run: Path) -> None:
    entries = history(vqvae_run)
    assert [entry["step"] for entry in entries] == list(range(5, VQVAE_STEPS + PRIOR_STEPS + 1, 5))
    first, second = entries[: VQVAE_STEPS // 5], entries[VQVAE_STEPS // 5 :]
    assert all({"loss", "reconstruction", "codebook", "commitment", "perplexity"} <= set(entry) for entry in first)
    assert all("prior_loss" in entry and "loss" not in entry for entry in second)
    assert all(np.isfinite(value) for entry in entries for value in entry.values())
    assert first[-1]["loss"] < first[0]["loss"] and second[-1]["prior_loss"] < second[0]["prior_loss"]
    assert all(1.0 <= entry["perplexity"] <= 16.0 for entry in first)
    log = (vqvae_run / "train.log").read_text()
    assert f"phase prior: steps {VQVAE_STEPS + 1}-{VQVAE_STEPS + PRIOR_STEPS}" in log
    with Image.open(vqvae_run / "samples.png") as samples:  # drawn from the trained prior
        assert np.asarray(samples).std() > 0


def test_sample_draws_from_the_prior_and_the_other_commands_apply_or_say_why(vqvae_run: Path, tmp_path: Path) -> None:
    sampled = run_genlab("sample", str(vqvae_run), "n=9", "temperature=0.7", cwd=tmp_path)
    assert sampled.returncode == 0, sampled.output
    picture = next((vqvae_run / "renders" / "sample").glob("*.png"))
    with Image.open(picture) as grid:
        assert np.asarray(grid).ndim == 2 and np.asarray(grid).std() > 0

    reconstructed = run_genlab("reconstruct", str(vqvae_run), cwd=tmp_path)
    assert reconstructed.returncode == 0, reconstructed.output

    for command in ("traverse", "manifold"):
        refused = run_genlab(command, str(vqvae_run), cwd=tmp_path)
        assert refused.returncode != 0 and "codebook entries" in refused.stderr, refused.output
        assert error_lines(refused.stderr) == 1

    before_prior = vqvae_run / "checkpoints" / f"ckpt-{VQVAE_STEPS}"
    untrained = run_genlab("sample", f"checkpoint={before_prior}", cwd=tmp_path)
    assert untrained.returncode != 0 and "no trained prior" in untrained.stderr
    assert error_lines(untrained.stderr) == 1

    evaluated = run_genlab("evaluate", str(vqvae_run), "k=2", "n=32", "features=domain", cwd=tmp_path)
    assert evaluated.returncode == 0, evaluated.output
    metrics = json.loads((vqvae_run / "metrics.json").read_text())["metrics"]
    assert {"mse", "psnr", "fd_domain", "kid_domain"} <= set(metrics) and "elbo" not in metrics
    assert all(np.isfinite(value) for value in metrics.values())


def test_a_run_killed_in_its_prior_phase_resumes_to_the_bits_of_an_uninterrupted_one(
    vqvae_run: Path, idx_dataset_args: list[str], tmp_path: Path
) -> None:
    killed = tmp_path / "killed"
    command = [GENLAB, "train", "experiment=tiny_vqvae", f"hydra.searchpath=[file://{TEST_CONFIGS}]", *idx_dataset_args]
    command += [f"trainer.steps={VQVAE_STEPS}", "model.prior.steps=100000", f"hydra.run.dir={killed}"]
    kill_at_checkpoint(command, killed / "checkpoints" / f"ckpt-{VQVAE_STEPS + 5}", tmp_path)  # in the prior phase
    resumed = run_genlab("train", f"resume={killed}", f"model.prior.steps={PRIOR_STEPS}", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.output
    assert "resuming from" in resumed.output
    ours, theirs = checkpoint_values(vqvae_run), checkpoint_values(killed)
    assert ours.keys() == theirs.keys() and len(ours) > 10
    for name in ours:
        assert np.array_equal(ours[name], theirs[name]), name
