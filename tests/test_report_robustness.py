"""`genlab report` never dies on one malformed file: each reader checks its file (wrong JSON shape, wrong
field types, bad encoding, cut-short lines, empty files), and the report warns naming the file, leaves
that part out and writes the rest. The readers are tested without TensorFlow; one report through the
real CLI reads many damaged files at once."""
from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import pytest

from conftest import run_genlab
from genlab.errors import GenlabError
from genlab.evaluate.evaluator import read_metrics
from genlab.evaluate.metrics_files import load_metrics_file
from genlab.evaluate.report import run_overrides
from genlab.rundir.history import history_records
from genlab.rundir.layout import load_run_info
from genlab.rundir.trials import read_trials

NOT_UTF8 = b"\xff\xfe\x80 not text"
GOOD_METRICS = {"checkpoint": "checkpoints/ckpt-20", "step": 20, "metrics": {"fd_domain": 1.5}, "notes": ["a note"]}


@pytest.mark.parametrize(
    "content",
    [
        json.dumps({"metrics": {"fd_domain": "n/a"}, "step": "four"}),
        json.dumps({**GOOD_METRICS, "step": "four"}),
        json.dumps({**GOOD_METRICS, "step": True}),
        json.dumps([GOOD_METRICS]),
        json.dumps({"metrics": [1.0, 2.0]}),
        json.dumps({"metrics": 3}),
        "7",
        json.dumps({**GOOD_METRICS, "notes": 5}),
        json.dumps({**GOOD_METRICS, "settings": [1]}),
        json.dumps({**GOOD_METRICS, "image_shape": "28x28"}),
        json.dumps({**GOOD_METRICS, "counts": {"fd_images": "16"}}),
        json.dumps({"step": 20}),
        json.dumps(GOOD_METRICS)[:30],
        "",
        NOT_UTF8,
    ],
)
def test_a_malformed_metrics_file_is_one_error_naming_it_and_the_run_is_not_evaluated(tmp_path: Path, content) -> None:
    path = tmp_path / "metrics.json"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    with pytest.raises(GenlabError, match=f"^{path}: "):
        load_metrics_file(path)
    assert read_metrics(tmp_path) is None
    path.write_text(json.dumps(GOOD_METRICS))
    assert read_metrics(tmp_path) == GOOD_METRICS


def test_scores_of_images_made_elsewhere_name_their_images(tmp_path: Path) -> None:
    path = tmp_path / "gan.metrics.json"
    for content in ({**GOOD_METRICS}, {**GOOD_METRICS, "samples": 5}):
        path.write_text(json.dumps(content))
        with pytest.raises(GenlabError, match=f"^{path}: .*samples"):
            load_metrics_file(path, scores=True)
    path.write_text(json.dumps({**GOOD_METRICS, "samples": "gan.npz"}))
    assert load_metrics_file(path, scores=True)["samples"] == "gan.npz"


@pytest.mark.parametrize(
    "content",
    ["[1]", "", "{}", json.dumps({"image_shape": "abc"}), json.dumps({"image_shape": [28, 28]}),
     json.dumps({"image_shape": [28, 28, 1], "class_names": "abc"}), json.dumps({"image_shape": [28, 28, 1], "num_train": "9"}),
     NOT_UTF8, '{"image_shape": [28, 2'],
)
def test_a_malformed_run_info_is_one_error_naming_it(tmp_path: Path, content) -> None:
    path = tmp_path / "run_info.json"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    with pytest.raises(GenlabError, match=str(path)):
        load_run_info(tmp_path)


@pytest.mark.parametrize(
    "content, message",
    [
        (b"number,value\n0,\xff\xfe\n", "not UTF-8"),
        (b"number,value,run\n0,1.5,a,extra,more\n", "row 1 has more cells than the header's 3 columns"),
        (b"number,value\n0,\x001\n", ""),
        (b"", "empty"),
    ],
)
def test_a_malformed_trials_table_is_one_error_naming_it(tmp_path: Path, content: bytes, message: str) -> None:
    (tmp_path / "trials.csv").write_bytes(content)
    try:
        read_trials(tmp_path)
    except GenlabError as error:
        assert str(error).startswith(str(tmp_path / "trials.csv")) and message in str(error)
    else:  # a reader that accepts the bytes must give rows of text under the header's names
        assert all(all(isinstance(key, str) for key in row) for row in read_trials(tmp_path))
    (tmp_path / "trials.csv").write_text("number,value,run\n0,1.5\n")  # a short row is blank where it ends
    assert read_trials(tmp_path) == [{"number": "0", "value": "1.5", "run": None}]


def test_history_keeps_the_records_it_can_read_and_names_the_file(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "history.jsonl"
    lines = [b'{"step": 5, "loss": 2.0}', b"[1, 2]", NOT_UTF8, b'{"step": "ten", "loss": 1.0}', b'{"step": 10, "loss": "x", "kl": 1}', b'{"step": 15, "lo']
    path.write_bytes(b"\n".join(lines))
    with caplog.at_level(logging.WARNING):
        assert history_records(tmp_path) == [{"step": 5, "loss": 2.0}, {"step": 10, "kl": 1}]
    assert f"{path}: 4 of 6 lines" in caplog.text
    path.write_text("")
    assert history_records(tmp_path) == []


@pytest.mark.parametrize("content", ["- 'not an override'\n", "a: 1\n", "- [1, 2]\n", NOT_UTF8, "- '=('\n"])
def test_malformed_overrides_are_one_error_naming_the_file(tmp_path: Path, content) -> None:
    path = tmp_path / ".hydra" / "overrides.yaml"
    path.parent.mkdir()
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    with pytest.raises(GenlabError, match=str(path)):
        run_overrides(tmp_path)


def test_report_warns_naming_each_malformed_file_and_writes_the_rest(
    trained_runs: dict[str, Path], tmp_path: Path
) -> None:
    sweep = tmp_path / "sweep"
    vae, ae = (Path(shutil.copytree(trained_runs[name], sweep / name)) for name in ("vae", "ae"))
    damaged = {
        vae / "metrics.json": json.dumps({"metrics": {"fd_domain": "n/a"}, "step": "four"}),
        vae / "history.jsonl": NOT_UTF8 + b"\n[1, 2]\n" + (vae / "history.jsonl").read_bytes()[:-20],
        vae / ".hydra" / "overrides.yaml": "- 'not an override'\n",
        ae / "metrics.json": NOT_UTF8,
        ae / "run_info.json": "[1]",
        sweep / "trials.csv": "number,value,objective,direction,state,run\n0,1.5,fd,minimize,COMPLETE,vae,extra\n",
        sweep / "search" / "trials.csv": NOT_UTF8,
        sweep / "gan.metrics.json": json.dumps({"samples": 5, "metrics": {"fd_domain": "a"}}),
        sweep / "empty.metrics.json": "",
    }
    for path, content in damaged.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
    before = {path: path.stat().st_mtime_ns for run in (vae, ae) for path in (run / "checkpoints").iterdir()}

    result = run_genlab("report", str(sweep), "evaluate=false", "samples=4", cwd=tmp_path)
    assert result.returncode == 0, result.output
    assert "Traceback" not in result.output
    for path in damaged:
        assert str(path) in result.stderr, path
    assert [Path(line).name for line in result.stdout.split()][:2] == ["report.md", "report.csv"]
    markdown = (sweep / "report.md").read_text()
    assert all(str(path) in markdown for path in damaged if path.name != "history.jsonl")  # the notes name them
    assert "ae" in (sweep / "report.csv").read_text() and (sweep / "contact_sheet.png").is_file()
    assert {path: path.stat().st_mtime_ns for run in (vae, ae) for path in (run / "checkpoints").iterdir()} == before
