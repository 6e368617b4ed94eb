"""One render command at work: the run it reads, where it writes, its random numbers, and the
restored model and data set, each loaded only when the command first asks for it.

Nothing here imports TensorFlow at module level: a wrong path or key fails in a fraction
of a second, and a command that needs no model (progress) never loads it.
"""
from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Sequence

import numpy as np

from genlab import rundir
from genlab.errors import GenlabError
from genlab.render.gif import save_gif
from genlab.render.grid import save_png
from genlab.rundir.restore import find_checkpoint, load_run_config
from genlab.rundir.layout import CHECKPOINT_STATE_FILE, checkpoint_number

if TYPE_CHECKING:
    from genlab.data.base import Images, ImageSet
    from genlab.models import GenerativeModel

log = logging.getLogger("genlab.render")

BATCH_SIZE = 256  # images per encoder/decoder call


def output_dir(out: str | None, run_dir: Path, command: str) -> Path:
    """``<run>/renders/<command>``, or ``out`` resolved: never inside a run's checkpoints directory,
    never a file, never below one."""
    if out is None:
        default = (run_dir / rundir.RENDERS_DIR / command).resolve()
        if not default.is_relative_to(run_dir.resolve()):  # a link in a run received from someone else
            raise GenlabError(
                f"{run_dir / rundir.RENDERS_DIR} leads out of the run directory (to {default.parent}); "
                "genlab does not write there: give out=DIR"
            )
        return default
    path = Path(out).expanduser().resolve()
    for candidate in (path, *path.parents):
        if candidate.name == rundir.CHECKPOINT_DIR and (
            (candidate.parent / rundir.CONFIG_FILE).is_file() or (candidate / CHECKPOINT_STATE_FILE).is_file()
        ):
            raise GenlabError(f"out={out}: {path} is inside a run's {rundir.CHECKPOINT_DIR}/ directory; choose another")
    existing = next(candidate for candidate in (path, *path.parents) if candidate.exists())
    if not existing.is_dir():
        if existing == path:
            raise GenlabError(f"out={out}: {path} exists and is not a directory")
        raise GenlabError(f"out={out}: {existing} is a file, so {path} cannot be a directory")
    return path


class RenderJob:
    def __init__(self, command: str, config: Any):
        self.command = command
        self.config = config
        self.run_dir, self.checkpoint = find_checkpoint(config.checkpoint)
        self.run_config = load_run_config(self.run_dir)
        self.info = rundir.load_run_info(self.run_dir)
        self.out_dir = output_dir(config.out, self.run_dir, command)
        self.step = checkpoint_number(self.checkpoint)
        self.rng = np.random.default_rng(config.seed)
        self.written: list[Path] = []
        self._model: GenerativeModel | None = None
        self._data: ImageSet | None = None

    # ------------------------------------------------------------------ what the run is

    @property
    def latent_dim(self) -> int:
        return int(self.run_config.model.latent_dim)

    @property
    def num_test(self) -> int:
        """The test images there are now (run_info.json's count is what training saw)."""
        return len(self.data.test_images)

    def check_dims(self, key: str, dims: Sequence[int]) -> None:
        for dim in dims:
            if dim >= self.latent_dim:
                raise GenlabError(
                    f"{key}={list(dims)}: dimension {dim} does not exist; the model's latent_dim is "
                    f"{self.latent_dim} (dimensions 0..{self.latent_dim - 1})"
                )

    def check_index(self, key: str, index: int) -> None:
        if not 0 <= index < self.num_test:
            raise GenlabError(
                f"{key}={index} is out of range: the test set has {self.num_test} images (0..{self.num_test - 1})"
            )

    def require_encoder(self) -> None:
        if not self.model.has_encoder:
            raise GenlabError(f"genlab {self.command} needs an encoder, and a {self.model.name} model has none")

    # ------------------------------------------------------------------ model and data, on first use

    @property
    def model(self) -> "GenerativeModel":
        if self._model is None:
            from genlab.native_output import import_tensorflow_quietly

            import_tensorflow_quietly()
            logging.getLogger("tensorflow").setLevel(logging.ERROR)  # restore warnings repeat our error
            from genlab.rundir.restore import restore_run

            # The user's path, not the resolved prefix: a run directory may fall back past a damaged checkpoint.
            restored = restore_run(self.config.checkpoint)
            self._model, self.step, self.checkpoint = restored.model, restored.step, restored.checkpoint
            log.info("%s model at step %d from %s", restored.model.name, restored.step, restored.checkpoint)
        return self._model

    @property
    def data(self) -> "ImageSet":
        if self._data is None:
            from genlab.data import load_dataset

            self._data = load_dataset(self.run_config.dataset)
        return self._data

    def test_images(self, indices: np.ndarray | Sequence[int] | None = None) -> "Images":
        """The test split (a numpy array or on-disk records), or the images at ``indices`` as an array."""
        images = self.data.test_images
        return images if indices is None else images[np.asarray(indices, dtype=np.int64)]

    # ------------------------------------------------------------------ model calls on numpy arrays

    def _scaled(self, images: np.ndarray) -> Any:
        from genlab.data.pixels import scale

        return scale(images, self.model.pixel_range, self.run_config.dataset.binarize)

    def _batched(self, function: Any, inputs: np.ndarray) -> np.ndarray:
        starts = range(0, len(inputs), BATCH_SIZE)
        return np.concatenate([np.asarray(function(inputs[start : start + BATCH_SIZE])) for start in starts])

    def encode(self, images: np.ndarray) -> np.ndarray:
        """Codes of uint8 images (a VAE's posterior means)."""
        self.require_encoder()
        return self._batched(lambda batch: self.model.encode(self._scaled(batch)), images)

    def posterior(self, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """A VAE's posterior (mean, log-variance) of uint8 images."""
        both = self._batched(lambda batch: np.concatenate(self.model.posterior(self._scaled(batch)), axis=-1), images)
        return both[:, : self.latent_dim], both[:, self.latent_dim :]

    def decode(self, codes: np.ndarray) -> np.ndarray:
        """Display images in [0, 1] of float codes (N, D)."""
        return self._batched(self.model.decode, np.asarray(codes, dtype=np.float32))

    def display(self, images: np.ndarray) -> np.ndarray:
        """uint8 images as the model sees them (binarized when the run binarizes), in [0, 1]."""
        return self._batched(lambda batch: self.model.to_display(self._scaled(batch)), images)

    # ------------------------------------------------------------------ output

    def name(self, *parts: object) -> str:
        """A file name stem: the command, the checkpoint's step, then ``parts``."""
        step = f"step{self.step}" if self.step is not None else None
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
