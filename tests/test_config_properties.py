"""Random override values: every one is either accepted or rejected with a clean, key-naming error."""
from __future__ import annotations

import math

from hydra.errors import HydraException
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from genlab.config.checks import validate
from genlab.errors import ConfigError
from test_config import compose_train

KEYS = [
    "latent_dim",
    "beta",
    "seed",
    "trainer.steps",
    "trainer.epochs",
    "trainer.batch_size",
    "trainer.steps_per_loop",
    "trainer.log_every",
    "trainer.max_to_keep",
    "trainer.num_images",
    "trainer.precision",
    "trainer.jit_compile",
    "trainer.strategy",
    "trainer.cpu_devices",
    "optimizer.learning_rate",
    "model.encoder.widths",
    "model.encoder.kernel_size",
    "model.encoder.dropout",
    "model.decoder.strides",
    "model.reconstruction_loss",
    "dataset.image_size",
    "dataset.channels",
    "dataset.resize",
]

scalars = st.one_of(
    st.integers(min_value=-(10**12), max_value=10**12).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["null", "true", "false", "''", "auto", "relu", "[]", "[1,2]", "[0]", "[-3,2]", "{a: 1}"]),
    st.text(alphabet="abcxyz019._-", min_size=1, max_size=8),
)


def override_value(value: str) -> str:
    return {"nan": "nan", "inf": "inf", "-inf": "-inf"}.get(value, value)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(key=st.sampled_from(KEYS), value=scalars)
def test_random_overrides_are_accepted_or_cleanly_rejected(key: str, value: str) -> None:
    override = f"{key}={override_value(value)}"
    try:
        config = validate(compose_train([override]))
    except ConfigError as error:
        assert key.split(".")[-1] in str(error) or key in str(error), (override, str(error))
        return
    except HydraException as error:  # rejected while composing: Hydra's message names the key
        message = str(error)
        assert key in message or "override" in message.lower(), (override, message)
        return
    # Accepted: the typed value satisfies the documented ranges.
    assert config.latent_dim >= 1 and config.model.latent_dim >= 1
    assert config.trainer.batch_size >= 1 and config.trainer.steps >= 1
    assert config.optimizer.learning_rate > 0 and not math.isnan(config.optimizer.learning_rate)
