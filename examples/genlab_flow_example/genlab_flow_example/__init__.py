"""What genlab reads before it builds the flow: its config schema, its sampling keys and its ModelSpec.

No TensorFlow here: genlab loads this module (through the entry point) whenever it checks a
config; the model itself (genlab_flow_example.model) is imported only to build one.
"""
from dataclasses import dataclass, field

from genlab.config.checks import require, require_positive
from genlab.config.models import ModelSpec


@dataclass
class DenseFlowConfig:
    """Keys of model=dense_flow; genlab checks them (and refuses unknown ones) like its own."""

    name: str = "dense_flow"
    couplings: int = 4  # affine coupling layers, alternating which half of the pixels they change
    hidden_units: list[int] = field(default_factory=lambda: [128])  # dense layers of each coupling's network
    max_log_scale: float = 2.0  # each coupling's log-scale is max_log_scale * tanh(.), for stable training

    def __post_init__(self) -> None:
        require(self.couplings >= 2, "model.couplings", "must be >= 2 (each half of the pixels changes)", self.couplings)
        require(len(self.hidden_units) >= 1 and all(units >= 1 for units in self.hidden_units),
                "model.hidden_units", "must list at least one positive layer width", self.hidden_units)
        require_positive("model.max_log_scale", self.max_log_scale)


@dataclass
class FlowSampling:
    """The flow's sampling keys: `genlab sample RUN temperature=1.0` (genlab sample --help lists them)."""

    temperature: float = 0.7  # scales the latent Gaussian; Glow's samples are drawn at 0.7

    def __post_init__(self) -> None:
        require(self.temperature >= 0, "temperature", "must be >= 0", self.temperature)


SPEC = ModelSpec(
    name="dense_flow",
    config=DenseFlowConfig,
    model="genlab_flow_example.model:DenseFlow",
    conf="genlab_flow_example.conf",  # holds model/dense_flow.yaml
    sampling=FlowSampling,
)
