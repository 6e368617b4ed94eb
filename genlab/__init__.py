"""genlab: config-driven training and rendering of generative image models."""

__version__ = "0.1.0"
