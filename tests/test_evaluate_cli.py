"""`genlab evaluate` and `genlab report` end to end through the real CLI, on tiny trained runs."""
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

TILE = (28, 28)  # the IDX test data set's image size
SMALL = ["n=16", "k=4", "kid_subsets=10"]  # tiny numbers of samples: seconds, not minutes


@pytest.fixture(scope="module")
def runs(trained_runs: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Copies of the shared runs: metrics.json and TensorBoard events stay out of the shared ones."""
    root = tmp_path_factory.mktemp("evaluate-runs")
    return {name: Path(shutil.copytree(run_dir, root / name)) for name, run_dir in trained_runs.items()}


def metrics(run_dir: Path) -> dict:
    return json.loads((run_dir / "metrics.json").read_text())


def tensorboard_tags(run_dir: Path) -> dict[str, list[str]]:
    """Tags by plugin name ("scalars" are the tf.summary.scalar ones), from every event file of the run."""
    from tensorboard.backend.event_processing import event_accumulator

    accumulator = event_accumulator.EventAccumulator(
        str(run_dir / "tensorboard"), size_guidance={event_accumulator.TENSORS: 0}
    )
    accumulator.Reload()
    tags: dict[str, list[str]] = {}
    for tag in accumulator.Tags()["tensors"]:
        plugin = accumulator.SummaryMetadata(tag).plugin_data.plugin_name
        tags.setdefault(plugin, []).append(tag)
    return tags


def test_evaluate_every_model_writes_finite_reproducible_numbers(runs: dict[str, Path], tmp_path: Path) -> None:
    checkpoints = ",".join(str(runs[name]) for name in ("vae", "ae", "gan"))
    first = run_genlab("evaluate", "-m", f"checkpoint={checkpoints}", *SMALL, cwd=tmp_path)
    assert first.returncode == 0, first.output
    assert "Traceback" not in first.output
    assert list(tmp_path.iterdir()) == []  # nothing in the working directory
    assert "domain classifier" in first.stderr and "test accuracy" in first.stderr
    numbers = {name: metrics(runs[name]) for name in runs}

    for name, saved in numbers.items():
        assert saved["step"] == 20 and saved["checkpoint"] == "checkpoints/ckpt-20"
        assert saved["settings"]["n"] == 16 and saved["counts"]["fd_images"] == 16
        values = saved["metrics"]
        for key in ("fd_domain", "kid_domain", "kid_domain_std", "classifier_accuracy"):
            assert math.isfinite(values[key]), (name, key, values)
        assert 0.0 <= values["classifier_accuracy"] <= 1.0
        assert f"metrics: {runs[name] / 'metrics.json'}" in first.stdout
        assert f"{name} on mnist, step 20" in first.stdout
        assert any(tag.startswith("eval/fd_domain") for tag in tensorboard_tags(runs[name])["scalars"])
    vae, ae, gan = (numbers[name]["metrics"] for name in ("vae", "ae", "gan"))
    assert set(vae) >= {"mse", "psnr", "elbo", "elbo_bits_per_dim", "nll", "nll_stderr", "nll_bits_per_dim", "kl", "active_dims"}
    assert vae["nll"] <= -vae["elbo"]  # the importance-weighted bound is the tighter one
    assert len(numbers["vae"]["kl_per_dimension"]) == 4
    assert math.isfinite(ae["mse"]) and ae["psnr"] > 0 and "nll" not in ae
    assert 0.0 <= gan["d_accuracy_real"] <= 1.0 and 0.0 <= gan["d_accuracy_fake"] <= 1.0 and "mse" not in gan
    assert np.isfinite(gan["d_score_gap"])
    assert "discriminator accuracy on samples" in first.stdout

    # Again, also asking for InceptionV3 features without any weights file: the same domain numbers,
    # and a note instead of a failure (nothing is downloaded).
    empty_keras_home = tmp_path.parent / f"{tmp_path.name}-keras"
    second = run_genlab(
        "evaluate", "-m", f"checkpoint={checkpoints}", *SMALL, "features=both",
        cwd=tmp_path, env={"KERAS_HOME": str(empty_keras_home)},
    )
    assert second.returncode == 0, second.output
    assert "no InceptionV3 ImageNet weights" in second.stdout
    assert "cached" in second.stderr  # the classifier is trained once per data set
    for name in runs:
        again = metrics(runs[name])
        assert again["metrics"] == numbers[name]["metrics"]  # bit for bit
        assert any("InceptionV3" in note for note in again["notes"])
    assert not (empty_keras_home / "models").exists()


def test_evaluate_user_errors_are_one_line(runs: dict[str, Path], tmp_path: Path) -> None:
    cases = {
        ("evaluate",): "checkpoint= is required",
        ("evaluate", f"checkpoint={tmp_path / 'nothing'}"): "no such file or directory",
        ("evaluate", f"checkpoint={runs['vae']}", "features=pixels"): "features must be one of domain, inception, both",
        ("evaluate", f"checkpoint={runs['vae']}", "n=1"): "n must be >= 4",
        ("evaluate", f"checkpoint={runs['gan']}", "features=inception", f"inception_weights={tmp_path / 'none.h5'}"):
            "inception_weights=",
        ("report", str(tmp_path / "missing")): "no such directory",
        ("report", str(tmp_path)): "no run directories",
    }
    for args, message in cases.items():
        result = run_genlab(*args, cwd=tmp_path)
        assert result.returncode == 2, (args, result.output)
        assert result.stderr.startswith("genlab: error: ") and message in result.stderr, (args, result.stderr)
        assert "Traceback" not in result.output


def test_sweep_then_report(idx_dataset_args: list[str], tmp_path: Path) -> None:
    sweep = tmp_path / "sweep"
    train = tiny_sweep_args(idx_dataset_args, sweep, "beta=1,4")
    trained = run_genlab(*train, cwd=tmp_path)
    assert trained.returncode == 0, trained.output
    run_dirs = sorted(path.parent.parent for path in sweep.rglob(".hydra/config.yaml"))
    assert len(run_dirs) == 2

    # every run's TensorBoard events hold the hparams session, with the swept beta
    for run_dir in run_dirs:
        hparams_tags = tensorboard_tags(run_dir).get("hparams", [])
        assert "_hparams_/session_start_info" in hparams_tags and "_hparams_/session_end_info" in hparams_tags
    assert sorted(session_hparams(run_dir)["beta"] for run_dir in run_dirs) == [1.0, 4.0]
    assert session_hparams(run_dirs[0])["model"] == "vae" and session_hparams(run_dirs[0])["steps"] == 10

    reported = run_genlab("report", str(sweep), *SMALL, cwd=tmp_path)  # the positional form
    assert reported.returncode == 0, reported.output
    assert reported.stdout.split() == [str(sweep / name) for name in ("report.md", "report.csv", "contact_sheet.png", "curves.png")]
    assert reported.stderr.count("evaluating vae at step 10") == 2

    table = [line for line in (sweep / "report.md").read_text().splitlines() if line.startswith("|")]
    header = [cell.strip() for cell in table[0].strip("|").split("|")]
    assert header[:3] == ["run", "beta", "steps"] and "train_loss" in header and "nll" in header
    assert len(table) == 2 + 2  # header, rule, two runs
    rows = list(csv.DictReader((sweep / "report.csv").open()))
    assert [row["beta"] for row in rows] == ["1", "4"] and [row["steps"] for row in rows] == ["10", "10"]
    assert all(math.isfinite(float(row["fd_domain"])) for row in rows)

    sheet = np.asarray(Image.open(sweep / "contact_sheet.png"))
    titled = [grid_layout(16, TILE, None, 2, caption=f"beta={beta}") for beta in (1, 4)]
    cell = (max(layout.height for layout in titled), max(layout.width for layout in titled))
    whole = grid_layout(2, cell, 2, 2)
    assert sheet.shape[:2] == (whole.height, whole.width)
    left, right = whole.tile_at(sheet, 0, 0), whole.tile_at(sheet, 0, 1)
    assert left.shape[:2] == cell and not np.array_equal(left, right)

    # metrics.json is current now: the report only reads it (and dir= works as well)
    again = run_genlab("report", f"dir={sweep}", *SMALL, cwd=tmp_path)
    assert again.returncode == 0, again.output
    assert "evaluating" not in again.stderr
    assert list(csv.DictReader((sweep / "report.csv").open())) == rows


def session_hparams(run_dir: Path) -> dict:
    from tensorboard.backend.event_processing import event_accumulator
    from tensorboard.plugins.hparams import metadata

    accumulator = event_accumulator.EventAccumulator(str(run_dir / "tensorboard"))
    accumulator.Reload()
    content = accumulator.PluginTagToContent(metadata.PLUGIN_NAME)[metadata.SESSION_START_INFO_TAG]
    start = metadata.parse_session_start_info_plugin_data(content)
    return {
        name: value.string_value if value.HasField("string_value") else value.number_value
        for name, value in start.hparams.items()
    }
