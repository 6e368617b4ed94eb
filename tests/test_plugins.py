"""Models from other installed packages, and runs written by earlier genlab versions.

The example package (examples/genlab_example, model mlp_vae) is installed beside genlab by
`scripts/setup.sh test`, as a user's own package would be.
"""
from __future__ import annotations

import csv
import json
import os
import shutil
import textwrap
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import TINY_TRAINER, run_genlab

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def losses(run_dir: Path) -> list[float]:
    return [json.loads(line)["loss"] for line in (run_dir / "history.jsonl").read_text().splitlines()]


def decoded(path: Path) -> np.ndarray:
    with Image.open(path) as picture:
        return np.asarray(picture)


def test_the_example_package_registers_its_model() -> None:
    from genlab.config.models import model_specs

    spec = model_specs()["mlp_vae"]
    assert spec.conf == "genlab_example.conf" and spec.model == "genlab_example.model:MLPVAE"
    assert {"ae", "vae", "gan"} <= set(model_specs())


@pytest.mark.slow
def test_models_from_other_packages_train_render_evaluate_and_report(idx_dataset_args: list[str], tmp_path: Path) -> None:
    """A VAE (mlp_vae) and a model of another family, a flow with an exact likelihood and sampling keys of its
    own (dense_flow, temperature 0.7 by default), both from packages of their own, through every command."""
    for name, keys in (("mlp", ["model=mlp_vae", "latent_dim=3", "model.hidden_units=[32]"]),
                       ("flow", ["model=dense_flow", "model.hidden_units=[16]", "trainer.ema_decay=0.9"])):
        trained = run_genlab(
            "train", *keys, *idx_dataset_args, "trainer.steps=20", *TINY_TRAINER, f"hydra.run.dir=outputs/{name}", cwd=tmp_path
        )
        assert trained.returncode == 0, trained.output
        history = losses(tmp_path / "outputs" / name)
        assert len(history) == 4 and all(np.isfinite(history)) and history[-1] < history[0], (name, history)
    mlp, flow = tmp_path / "outputs" / "mlp", tmp_path / "outputs" / "flow"
    assert "mlp_vae" in (mlp / ".hydra" / "config.yaml").read_text()

    for run in (mlp, flow):
        for command, expected in (("sample", "sample_step20_seed0.png"), ("traverse", "traverse_step20_index0.png")):
            rendered = run_genlab(command, str(run), cwd=tmp_path)
            assert rendered.returncode == 0, rendered.output
            picture = decoded(run / "renders" / command / expected)
            assert picture.ndim == 2 and picture.std() > 0  # grayscale grid, not blank
    hotter = run_genlab("sample", str(flow), "temperature=1.0", "out=hotter", cwd=tmp_path)  # the flow's own key
    assert hotter.returncode == 0, hotter.output
    assert not np.array_equal(decoded(tmp_path / "hotter" / "sample_step20_seed0.png"),
                              decoded(flow / "renders" / "sample" / "sample_step20_seed0.png"))

    for run in (mlp, flow):
        evaluated = run_genlab("evaluate", str(run), "k=2", "n=32", "features=domain", cwd=tmp_path)
        assert evaluated.returncode == 0, evaluated.output
    metrics = json.loads((mlp / "metrics.json").read_text())
    assert metrics["model"] == "mlp_vae" and metrics["sampling"] == {"temperature": 1.0}
    assert {"elbo", "nll", "kl", "mse", "fd_domain"} <= set(metrics["metrics"])  # it has a posterior and an encoder
    assert "bits_per_dim" not in metrics["metrics"] and any("no bits_per_dim" in note for note in metrics["notes"])
    assert all(np.isfinite(value) for value in metrics["metrics"].values())
    flow_metrics = json.loads((flow / "metrics.json").read_text())
    assert flow_metrics["likelihood"] == "exact" and flow_metrics["sampling"] == {"temperature": 0.7}
    bits = flow_metrics["metrics"]["bits_per_dim"]
    assert 0 < bits < 8.5 and flow_metrics["metrics"]["nll"] == pytest.approx(bits * 28 * 28 * np.log(2.0))
    assert flow_metrics["metrics"]["mse"] < 1e-5  # decode inverts encode (up to (x + 0.5) / 256 against x / 255)

    reported = run_genlab("report", str(tmp_path / "outputs"), "k=2", "n=32", "features=domain", cwd=tmp_path)
    assert reported.returncode == 0, reported.output
    with open(tmp_path / "outputs" / "report.csv", newline="") as table:
        rows = {row["run"]: row for row in csv.DictReader(table)}
    assert set(rows) == {"mlp", "flow"} and float(rows["mlp"]["elbo"]) == pytest.approx(metrics["metrics"]["elbo"])
    assert float(rows["flow"]["bits_per_dim"]) == pytest.approx(bits) and rows["mlp"]["bits_per_dim"] == ""
    assert "an exact likelihood" in (tmp_path / "outputs" / "report.md").read_text()
    assert decoded(tmp_path / "outputs" / "contact_sheet.png").size > 0


@pytest.mark.slow
def test_a_saved_config_naming_a_model_that_is_not_installed_is_refused(trained_runs: dict[str, Path], tmp_path: Path) -> None:
    run = tmp_path / "received"
    shutil.copytree(trained_runs["vae"], run)
    config = run / ".hydra" / "config.yaml"
    config.write_text(config.read_text().replace("name: vae", "name: someone_elses_model"))
    for command in (("sample", str(run)), ("evaluate", str(run)), ("train", f"resume={run}")):
        result = run_genlab(*command, cwd=tmp_path)
        assert result.returncode == 2, result.output
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and "model.name='someone_elses_model' is not an installed model" in lines[0], result.stderr
        assert "mlp_vae" in lines[0] and "Traceback" not in result.output


def test_a_broken_plug_in_is_skipped_with_a_warning(tmp_path: Path) -> None:
    """An entry point that cannot load (its package half-installed) leaves every other model working."""
    site = tmp_path / "site"
    info = site / "broken_models-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: broken-models\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(
        textwrap.dedent(
            """
            [genlab.models]
            gone = not_a_module_here:SPEC
            vae = genlab_example:SPEC
            """
        )
    )
    env = {**os.environ, "PYTHONPATH": str(site)}
    result = run_genlab("train", "--help", cwd=tmp_path, env=env)
    assert result.returncode == 0, result.output
    assert "model gone from not_a_module_here:SPEC is not available: No module named 'not_a_module_here'" in result.stderr
    assert "model vae from genlab_example:SPEC is not available: it names itself 'mlp_vae'" in result.stderr
    assert "model: ae, dense_flow, gan, mlp_vae, vae" in result.stdout


@pytest.mark.slow
def test_a_run_written_before_the_package_relayout_renders_and_resumes(idx_dataset_args: list[str], tmp_path: Path) -> None:
    run = tmp_path / "old_run"
    shutil.copytree(FIXTURES / "vae_run_before_relayout", run)
    sampled = run_genlab("sample", str(run), "n=4", cwd=tmp_path)  # a VAE samples without its data
    assert sampled.returncode == 0, sampled.output
    assert decoded(run / "renders" / "sample" / "sample_step4_seed0.png").std() > 0

    data_path = next(arg for arg in idx_dataset_args if arg.startswith("dataset.path="))  # the data moved
    resumed = run_genlab("train", f"resume={run}", "trainer.steps=8", data_path, cwd=tmp_path)
    assert resumed.returncode == 0, resumed.output
    assert "resuming from" in resumed.output and (run / "checkpoints" / "ckpt-8.index").is_file()
    assert [json.loads(line)["step"] for line in (run / "history.jsonl").read_text().splitlines()] == [2, 4, 6, 8]

    rebuilt = run_genlab("reconstruct", str(run), "n=4", cwd=tmp_path)
    assert rebuilt.returncode == 0, rebuilt.output
    assert decoded(run / "renders" / "reconstruct" / "reconstruct_step8_seed0.png").std() > 0


@pytest.mark.slow
def test_runs_written_before_the_trainer_owned_the_update_render_alike_and_resume(
    idx_dataset_args: list[str], tmp_path: Path
) -> None:
    """A GAN whose generator average was the model's own (model.ema_decay) draws pixel for pixel what genlab
    0.1.0 drew from it, with the average by default and with the raw weights on request; a VQ-VAE written then
    resumes inside its prior phase."""
    gan = tmp_path / "gan"
    shutil.copytree(FIXTURES / "gan_ema_run_before_trainer_update", gan)
    for weights in ("true", "false"):
        out = tmp_path / f"average_{weights}"
        drawn = run_genlab("sample", str(gan), "n=4", "precise_bn=false", f"average_weights={weights}", f"out={out}", cwd=tmp_path)
        assert drawn.returncode == 0, drawn.output
        assert ("the weights' moving average" in drawn.output) == (weights == "true")
    expected = decoded(gan / "sample_n4_seed0_by_0.1.0.png")
    np.testing.assert_array_equal(decoded(tmp_path / "average_true" / "sample_step4_seed0.png"), expected)
    assert not np.array_equal(decoded(tmp_path / "average_false" / "sample_step4_seed0.png"), expected)

    vqvae = tmp_path / "vqvae"
    shutil.copytree(FIXTURES / "vqvae_run_before_trainer_update", vqvae)
    data_path = next(arg for arg in idx_dataset_args if arg.startswith("dataset.path="))  # the data moved
    resumed = run_genlab("train", f"resume={vqvae}", "model.prior.steps=4", data_path, cwd=tmp_path)
    assert resumed.returncode == 0, resumed.output
    assert "resuming from" in resumed.output and "at step 6 of 8" in resumed.output
    assert (vqvae / "checkpoints" / "ckpt-8.index").is_file()
