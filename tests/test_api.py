"""genlab from Python, as a notebook uses it: one plain Python process trains, loads, samples,
encodes, decodes and renders, through the same code paths as the commands."""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

from conftest import TINY_MODEL, TINY_TRAINER

SCRIPT = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path

    import numpy as np
    from PIL import Image

    import genlab
    from genlab.errors import ConfigError, GenlabError

    report = {"tensorflow_after_import": "tensorflow" in sys.modules}
    overrides = json.loads(sys.argv[1])
    run = genlab.train(overrides)
    report["run_dir"] = str(run.run_dir)
    report["step"] = run.step

    again = genlab.load_run(run.run_dir)
    images = again.test_images(range(5))
    codes = again.encode(images)
    decoded = again.decode(codes)
    rebuilt = again.reconstruct(images)
    samples = again.sample(6, seed=1)
    report["shapes"] = {"images": images.shape, "codes": codes.shape, "decoded": decoded.shape,
                        "rebuilt": rebuilt.shape, "samples": samples.shape}
    report["dtypes"] = sorted({str(a.dtype) for a in (decoded, rebuilt, samples)})
    report["range"] = [float(min(a.min() for a in (decoded, rebuilt, samples))),
                       float(max(a.max() for a in (decoded, rebuilt, samples)))]
    report["same_seed_same_samples"] = bool(np.array_equal(samples, again.sample(6, seed=1)))
    report["other_seed_other_samples"] = not np.array_equal(samples, again.sample(6, seed=2))
    report["reconstruct_is_decode_of_encode"] = bool(np.array_equal(rebuilt, decoded))

    pictures = genlab.render_run(again, "traverse", dims=[0, 1], out=sys.argv[2])
    report["pictures"] = {}
    for path, array in pictures.items():
        on_disk = np.asarray(Image.open(path))
        report["pictures"][path.name] = {
            "shape": list(array.shape), "exists": path.is_file(), "in_unit_range": bool(0 <= array.min() <= array.max() <= 1),
            "equals_file": bool(path.suffix != ".png" or np.array_equal(np.round(array[..., 0] * 255).astype(np.uint8), on_disk)),
        }
    report["sample_grid"] = list(next(iter(genlab.render_run(run.run_dir, "sample", n=4, out=sys.argv[2]).values())).shape)

    errors = {}
    for name, call in {
        "unknown_key": lambda: genlab.render_run(again, "sample", nn=3),
        "bad_value": lambda: genlab.render_run(again, "sample", n=0),
        "unknown_command": lambda: genlab.render_run(again, "paint"),
        "bad_train_key": lambda: genlab.train(["trainer.stepz=3"]),
        "no_run": lambda: genlab.load_run(Path(sys.argv[2]) / "nowhere"),
    }.items():
        try:
            call()
            errors[name] = None
        except GenlabError as error:
            errors[name] = [type(error).__name__, str(error)]
    report["errors"] = errors
    print("REPORT " + json.dumps(report, default=list))
    """
)


def test_train_load_sample_encode_decode_and_render_from_python(idx_dataset_args: list[str], tmp_path: Path) -> None:
    overrides = ["model=vae", *idx_dataset_args, "latent_dim=3", "trainer.steps=10", *TINY_TRAINER, *TINY_MODEL["vae"]]
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, json.dumps(overrides), str(tmp_path / "pictures")],
        cwd=tmp_path, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout.split("REPORT ", 1)[1])

    assert report["tensorflow_after_import"] is False  # `import genlab` stays light
    assert Path(report["run_dir"]).parent == tmp_path / "outputs" / "vae-mnist" and report["step"] == 10
    assert report["shapes"] == {
        "images": [5, 28, 28, 1], "codes": [5, 3], "decoded": [5, 28, 28, 1], "rebuilt": [5, 28, 28, 1], "samples": [6, 28, 28, 1],
    }  # fmt: skip
    assert report["dtypes"] == ["float32"] and 0.0 <= report["range"][0] <= report["range"][1] <= 1.0
    assert report["same_seed_same_samples"] and report["other_seed_other_samples"]
    assert report["reconstruct_is_decode_of_encode"]

    pictures = report["pictures"]
    assert sorted(pictures) == ["traverse_step10_index0.gif", "traverse_step10_index0.png"]
    assert all(picture["exists"] and picture["in_unit_range"] and picture["equals_file"] for picture in pictures.values())
    assert len(pictures["traverse_step10_index0.png"]["shape"]) == 3  # (H, W, C)
    assert len(pictures["traverse_step10_index0.gif"]["shape"]) == 4 and pictures["traverse_step10_index0.gif"]["shape"][0] > 1
    assert len(report["sample_grid"]) == 3

    errors = report["errors"]
    assert errors["unknown_key"] == ["ConfigError", errors["unknown_key"][1]] and "nn: not a key of genlab sample" in errors["unknown_key"][1]
    assert errors["bad_value"][0] == "ConfigError" and errors["bad_value"][1].startswith("n must be")
    assert errors["unknown_command"][0] == "ConfigError" and "paint" in errors["unknown_command"][1]
    assert errors["bad_train_key"][0] == "ConfigError" and errors["bad_train_key"][1].startswith("trainer.stepz: not a key of trainer")
    assert errors["no_run"][0] == "GenlabError" and "no such file or directory" in errors["no_run"][1]
    assert "genlab: error: trainer.stepz: not a key of trainer" in result.stderr  # the CLI's own line
