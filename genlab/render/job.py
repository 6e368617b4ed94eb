"""One render command at work: the run it reads (a SavedRun, whose model and data set load only
when the command first asks for them), where it writes, its random numbers.

Nothing here imports TensorFlow at module level: a wrong path or key fails in a fraction
of a second, and a command that needs no model (progress) never loads it.
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Sequence

import numpy as np

from genlab import rundir
from genlab.errors import GenlabError
from genlab.render.gif import save_gif
from genlab.render.grid import save_png
from genlab.rundir.outputs import check_output_path, run_checkpoints_holding
from genlab.rundir.saved_run import SavedRun

if TYPE_CHECKING:
    from genlab.render.conditions import ConditionRows


def output_dir(out: str | None, run_dir: Path, command: str) -> Path:
    """``<run>/renders/<command>``, or ``out`` resolved: never inside a run's checkpoints directory
    (genlab.rundir.outputs), never a file, never below one."""
    if out is None:
        default = (run_dir / rundir.RENDERS_DIR / command).resolve()
        if not default.is_relative_to(run_dir.resolve()):  # a link in a run received from someone else
            raise GenlabError(
                f"{run_dir / rundir.RENDERS_DIR} leads out of the run directory (to {default.parent}); "
                "genlab does not write there: give out=DIR"
            )
        if run_checkpoints_holding(default) is not None:
            raise GenlabError(
                f"{run_dir / rundir.RENDERS_DIR} leads into the run's {rundir.CHECKPOINT_DIR}/ directory (to {default.parent}); "
                "genlab does not write there: give out=DIR"
            )
        return default
    path = check_output_path("out", out)
    existing = next(candidate for candidate in (path, *path.parents) if candidate.exists())
    if not existing.is_dir():
        if existing == path:
            raise GenlabError(f"out={out}: {path} exists and is not a directory")
        raise GenlabError(f"out={out}: {existing} is a file, so {path} cannot be a directory")
    return path


def safe_name(name: str) -> str:
    """A class or attribute name as part of a file name (class names may hold '/' or spaces)."""
    return "".join(character if character.isalnum() or character in "-." else "_" for character in name)


class RenderJob:
    """A render command's config, the run it reads (``run``), where it writes and its random numbers."""

    def __init__(self, command: str, config: Any):
        self.command = command
        self.config = config
        self.run = SavedRun(
            config.checkpoint,
            precise_bn=config.precise_bn,
            precise_bn_images=config.precise_bn_images,
            average_weights=config.average_weights,
        )
        self.out_dir = output_dir(config.out, self.run.run_dir, command)
        self.rng = np.random.default_rng(config.seed)
        self.written: list[Path] = []

    # ------------------------------------------------------------------ checks of the command's keys

    def check_dims(self, key: str, dims: Sequence[int]) -> None:
        latent_dim = self.run.latent_dim
        for dim in dims:
            if dim >= latent_dim:
                raise GenlabError(
                    f"{key}={list(dims)}: dimension {dim} does not exist; the model's latent_dim is "
                    f"{latent_dim} (dimensions 0..{latent_dim - 1})"
                )

    def check_index(self, key: str, index: int) -> None:
        count = len(self.run.test_images())  # the test images there are now (run_info.json's count is training's)
        if not 0 <= index < count:
            raise GenlabError(f"{key}={index} is out of range: the test set has {count} images (0..{count - 1})")

    def require_encoder(self) -> None:
        self.run.require("has_encoder", f"genlab {self.command}")

    def require_continuous_codes(self) -> None:
        """Traversals, manifolds and code plots read single code dimensions; a grid of codebook entries has none."""
        model = self.run.model
        if model.has_discrete_codes:
            raise GenlabError(
                f"genlab {self.command} reads single code dimensions, and a {model.name} model's codes are grids "
                "of codebook entries; try genlab sample, reconstruct or interpolate"
            )

    def sampling_options(self) -> Any:
        """The run's model's sampling keys, with those the command line set (genlab.config.sampling)."""
        from genlab.config.sampling import given_sampling_keys

        return self.run.sampling_options(given_sampling_keys(self.config))

    # ------------------------------------------------------------------ conditions of a conditional model

    def condition_rows(self) -> "ConditionRows | None":
        """The rows ``classes=``/``attributes=`` choose (every class by default); None for an unconditional
        model, which refuses those keys."""
        from genlab.render.conditions import chosen_rows

        classes, attributes = getattr(self.config, "classes", None), getattr(self.config, "attributes", None)
        model = self.run.model
        if not model.has_condition:
            for key, value in (("classes", classes), ("attributes", attributes)):
                if value is not None:
                    raise GenlabError(f"{key}= applies to a conditional model, and this {model.name} has no condition")
            return None
        return chosen_rows(model.condition_kind, model.condition_names, classes, attributes)

    def fixed_condition(self, own: np.ndarray | None = None) -> tuple[np.ndarray | None, str | None]:
        """The one condition a traversal, interpolation or manifold keeps: the first chosen with
        ``classes=``/``attributes=``, else ``own`` (a test image's), else the first row; and its label."""
        rows = self.condition_rows()
        if rows is None:
            return None, None
        chosen = getattr(self.config, "classes", None) is not None or getattr(self.config, "attributes", None) is not None
        if own is not None and not chosen:
            return np.asarray(own, np.float32)[None], None
        return rows.vectors[:1], rows.labels[0]

    # ------------------------------------------------------------------ output

    def name(self, *parts: object) -> str:
        """A file name stem: the command, the checkpoint's step, then ``parts``."""
        step = f"step{self.run.step}" if self.run.step is not None else None
        return "_".join(str(part) for part in (self.command, step, *parts) if part is not None)

    def write_png(self, picture: np.ndarray, file_name: str) -> Path:
        return self._write(lambda path: save_png(picture, path), file_name)

    def write_gif(self, frames: Sequence[np.ndarray], file_name: str, fps: float) -> Path:
        return self._write(lambda path: save_gif(frames, path, fps), file_name)

    def write_figure(self, figure: Any, file_name: str) -> Path:
        from genlab.render.plots import save_figure

        return self._write(lambda path: save_figure(figure, path), file_name)

    def _write(self, save: Callable[[Path], Path], file_name: str) -> Path:
        """Write one file into the output directory (made when missing) and print its path."""
        try:
            path = save(self.out_dir / file_name)
        except OSError as error:  # a read-only or full disk, a directory where the file should go
            where = f" (out={self.config.out})" if self.config.out is not None else ""
            raise GenlabError(f"cannot write {self.out_dir / file_name}{where}: {error.strerror or error}") from None
        self.written.append(path)
        print(path, file=sys.stdout, flush=True)
        return path
