"""What genlab reads before it builds the model: its config schema and its ModelSpec.

This module imports no TensorFlow: genlab loads it (through the entry point) whenever it
checks a config; the model itself (genlab_example.model) is imported only to build one.
"""
from dataclasses import dataclass, field

from genlab.config.checks import require, require_choice, require_positive
from genlab.config.models import ModelSpec


@dataclass
class MLPVAEConfig:
    """Keys of model=mlp_vae; genlab checks them (and refuses unknown ones) like its own."""

    name: str = "mlp_vae"
    latent_dim: int = 2
    beta: float = 1.0
    hidden_units: list[int] = field(default_factory=lambda: [512])  # dense layers of the encoder; the decoder mirrors them
    reconstruction_loss: str = "bce"  # bce (Bernoulli) or mse (Gaussian), summed over pixels

    def __post_init__(self) -> None:
        require_positive("model.latent_dim", self.latent_dim)
        require(self.beta >= 0, "model.beta", "must be >= 0", self.beta)
        require(len(self.hidden_units) >= 1 and all(units >= 1 for units in self.hidden_units),
                "model.hidden_units", "must list at least one positive layer width", self.hidden_units)
        require_choice("model.reconstruction_loss", self.reconstruction_loss, ("bce", "mse"))


SPEC = ModelSpec(
    name="mlp_vae",
    config=MLPVAEConfig,
    model="genlab_example.model:MLPVAE",
    conf="genlab_example.conf",  # holds model/mlp_vae.yaml
)
