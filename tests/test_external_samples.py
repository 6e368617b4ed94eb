"""Reading images made elsewhere for `genlab evaluate samples=`: every accepted form gives the same
uint8 array, every misfit a one-line error that says what to change (numpy and Pillow only)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from genlab.errors import GenlabError
from genlab.evaluate.external_samples import load_samples, metrics_file, preview, write_sample_files

GRAY = (8, 8, 1)
RGB = (8, 8, 3)


def images(shape: tuple[int, ...], count: int = 5, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, size=(count, *shape), dtype=np.uint8)


def test_every_accepted_form_gives_the_same_pixels(tmp_path: Path) -> None:
    expected = images(GRAY)
    np.save(tmp_path / "plain.npy", expected[..., 0])  # (N, H, W)
    np.save(tmp_path / "unit.npy", expected.astype(np.float32) / 255.0)  # floats in [0, 1]
    np.savez(tmp_path / "keyed.npz", samples=expected, labels=np.arange(5))  # several arrays: "samples"
    np.savez(tmp_path / "single.npz", anything=expected)
    np.save(tmp_path / "rgb_gray.npy", np.repeat(expected, 3, axis=-1))  # gray saved as RGB
    np.save(tmp_path / "wide.npy", expected.astype(np.int64))
    folder = write_sample_files(expected, tmp_path / "pngs")
    assert sorted(path.name for path in folder.iterdir()) == [f"{number:05d}.png" for number in range(5)]
    for path in ("plain.npy", "unit.npy", "keyed.npz", "single.npz", "rgb_gray.npy", "wide.npy", "pngs"):
        loaded = load_samples(tmp_path / path, GRAY)
        assert loaded.dtype == np.uint8 and loaded.shape == (5, *GRAY), path
        np.testing.assert_array_equal(loaded, expected, err_msg=path)
    colour = images(RGB)
    write_sample_files(colour, tmp_path / "colour")
    np.testing.assert_array_equal(load_samples(tmp_path / "colour", RGB), colour)
    np.testing.assert_array_equal(preview(tmp_path / "colour", 2), colour[:2])


def test_folders_read_in_name_order_and_jpeg_gray_within_its_tolerance(tmp_path: Path) -> None:
    expected = images(GRAY, count=3)
    folder = tmp_path / "named"
    folder.mkdir()
    for name, image in zip(("b.png", "a.png", "c.PNG"), expected):
        Image.fromarray(image[..., 0]).save(folder / name)
    (folder / "notes.txt").write_text("not an image")
    np.testing.assert_array_equal(load_samples(folder, GRAY), expected[[1, 0, 2]])

    smooth = np.full((2, 16, 16), 128, np.uint8)  # JPEG keeps a flat gray picture's channels within 2 levels
    jpegs = tmp_path / "jpegs"
    jpegs.mkdir()
    for number, picture in enumerate(smooth):
        Image.fromarray(np.repeat(picture[..., None], 3, -1)).save(jpegs / f"{number}.jpg", quality=90)
    loaded = load_samples(jpegs, (16, 16, 1))
    assert loaded.shape == (2, 16, 16, 1) and np.abs(loaded.astype(int) - 128).max() <= 2


@pytest.mark.parametrize(
    "array, message",
    [
        (np.zeros((4, 8, 8, 1), np.float32) - 0.5, "rescale images in [-1, 1] with (x + 1) / 2"),
        (np.full((4, 8, 8, 1), 200.0), "divide by 255, or store them as uint8"),
        (np.full((4, 8, 8), np.nan), "pixel values are NaN or infinite"),
        (np.full((4, 8, 8), 300, np.int32), "integer pixel values must lie in [0, 255], got [300, 300]"),
        (np.zeros((4, 9, 8, 1), np.uint8), "images are 8x9 pixels but the data set's are 8x8"),
        (np.zeros((4, 1, 8, 8), np.uint8), "looks channels-first (N, C, H, W)"),
        (np.zeros((4, 8, 8, 3), np.uint8) + np.array([0, 1, 50], np.uint8), "but the data set is grayscale"),
        (np.zeros((8, 8), np.uint8), "expected images of shape (N, H, W) or (N, H, W, C)"),
        (np.array(["a"] * 4), "images must hold numbers"),
    ],
)
def test_misfits_are_one_line_errors_naming_the_fix(tmp_path: Path, array: np.ndarray, message: str) -> None:
    path = tmp_path / "bad.npy"
    np.save(path, array)
    with pytest.raises(GenlabError) as error:
        load_samples(path, GRAY)
    text = str(error.value)
    assert message in text and f"samples={path}" in text and "\n" not in text


def test_colour_data_refuses_grayscale_and_the_paths_are_checked(tmp_path: Path) -> None:
    np.save(tmp_path / "gray.npy", images(GRAY))
    with pytest.raises(GenlabError, match="grayscale .1 channel. but the data set has 3 channels"):
        load_samples(tmp_path / "gray.npy", RGB)
    with pytest.raises(GenlabError, match="no such file or directory"):
        load_samples(tmp_path / "missing", GRAY)
    (tmp_path / "empty").mkdir()
    with pytest.raises(GenlabError, match="no .png/.jpg/.jpeg images in the folder"):
        load_samples(tmp_path / "empty", GRAY)
    (tmp_path / "pictures.txt").write_text("x")
    with pytest.raises(GenlabError, match="give a folder of PNG/JPEG images or an .npy/.npz array"):
        load_samples(tmp_path / "pictures.txt", GRAY)
    np.savez(tmp_path / "two.npz", first=images(GRAY), second=images(GRAY))
    with pytest.raises(GenlabError, match="holds first, second; name the images' array 'samples'"):
        load_samples(tmp_path / "two.npz", GRAY)
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(mixed / "a.png")
    Image.fromarray(np.zeros((9, 8), np.uint8)).save(mixed / "b.png")
    with pytest.raises(GenlabError, match="b.png is 8x9 but a.png is 8x8"):
        load_samples(mixed, GRAY)
    with pytest.raises(GenlabError, match="exists and is not an empty folder"):
        write_sample_files(images(GRAY), mixed)


def test_scores_go_beside_the_images(tmp_path: Path) -> None:
    (tmp_path / "folder").mkdir()
    assert metrics_file(tmp_path / "folder") == tmp_path / "folder" / "metrics.json"
    assert metrics_file(tmp_path / "gan.npz") == tmp_path / "gan.metrics.json"
