"""genlab.train() in Python raises what the CLI refuses with: its class (ConfigError, DataError,
GenlabError) and, as its message, the line the CLI prints after `genlab: error:`."""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

SCRIPT = textwrap.dedent(
    """
    import json, sys
    import genlab

    raised = {}
    for name, overrides in json.loads(sys.argv[1]).items():
        try:
            genlab.train(overrides)
            raised[name] = None
        except Exception as error:
            raised[name] = [type(error).__name__, str(error)]
    print(json.dumps(raised))
    """
)


def test_train_raises_the_clis_error_with_its_line(tmp_path: Path) -> None:
    cases = {
        "unknown_key": ["trainer.stepz=4"],
        "preset_key": ["experiment=fashion_vqvae", "model=vae"],
        "bad_value": ["trainer.batch_size=0"],
        "no_data": ["dataset=mnist", f"dataset.path={tmp_path / 'nowhere'}", "dataset.download=false"],
    }
    completed = subprocess.run(
        [sys.executable, "-c", SCRIPT, json.dumps(cases)], cwd=tmp_path, capture_output=True, text=True, timeout=300
    )
    assert completed.returncode == 0, completed.stderr
    raised = json.loads(completed.stdout.strip().splitlines()[-1])
    printed = [line.removeprefix("genlab: error: ") for line in completed.stderr.splitlines() if line.startswith("genlab: error: ")]
    assert [raised[name][1] for name in cases] == printed  # the message is the line, for each refusal
    assert raised["unknown_key"][0] == "ConfigError" and raised["unknown_key"][1].startswith("trainer.stepz: not a key of trainer")
    assert raised["preset_key"] == [
        "ConfigError", printed[1]
    ] and printed[1].startswith("experiment=fashion_vqvae sets model.num_embeddings, which model=vae does not have")
    assert raised["bad_value"][0] == "ConfigError" and "trainer.batch_size" in raised["bad_value"][1]
    assert raised["no_data"][0] == "DataError" and "dataset.path" in raised["no_data"][1]
    assert all("exit code" not in message for _, message in raised.values())
    assert not (tmp_path / "outputs").exists()  # no run directory left by a refusal
