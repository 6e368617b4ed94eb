"""genlab: config-driven training and rendering of generative image models.

From Python: ``genlab.load_run(path)``, ``genlab.train([overrides])`` and
``genlab.render_run(run, command, **keys)`` (see genlab.api); imported on first use, so
``import genlab`` stays light.
"""
from typing import Any

__version__ = "0.1.0"

__all__ = ["__version__", "load_run", "render_run", "train"]


def __getattr__(name: str) -> Any:
    if name in ("load_run", "render_run", "train"):
        from genlab import api

        return getattr(api, name)
    raise AttributeError(f"module 'genlab' has no attribute {name!r}")
