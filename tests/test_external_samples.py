"""Reading images made elsewhere for `genlab evaluate samples=`: every accepted form gives the same
uint8 array, every misfit a one-line error that says what to change (numpy and Pillow only)."""
from __future__ import annotations

import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from genlab.errors import GenlabError
from genlab.evaluate.external_samples import count_images, load_samples, metrics_file, preview, write_sample_files

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


def _pickled_objects(path: Path) -> None:
    np.save(path, np.array([{"a": 1}, None], dtype=object), allow_pickle=True)


def _text(path: Path) -> None:
    path.write_text("0 1 2 3\n")


def _damaged_header(path: Path) -> None:
    np.save(path, images(GRAY))
    content = bytearray(path.read_bytes())
    content[20:32] = b"!" * 12
    path.write_bytes(bytes(content))


def _cut_short(path: Path) -> None:
    np.save(path, images(GRAY))
    path.write_bytes(path.read_bytes()[:150])


def _objects_in_npz(path: Path) -> None:
    np.savez(path.with_suffix(".npz"), samples=np.array([1, None], dtype=object))


def _text_npz(path: Path) -> None:
    path.with_suffix(".npz").write_text("not a zip")


@pytest.mark.parametrize("make", [_pickled_objects, _text, _damaged_header, _cut_short, _objects_in_npz, _text_npz])
def test_a_file_that_is_not_an_image_array_is_one_line_without_pickle_advice(tmp_path: Path, make) -> None:
    make(tmp_path / "bad.npy")
    path = next(tmp_path.iterdir())
    for read in (lambda: load_samples(path, GRAY), lambda: count_images(path), lambda: preview(path, 2)):
        with pytest.raises(GenlabError) as error:
            read()
        text = str(error.value)
        assert text.startswith(f"samples={path}: not a numeric image array (") and "\n" not in text
        assert "pickle" not in text.replace("never unpickles", "")


def test_scoring_the_first_images_of_a_large_array_reads_only_those(tmp_path: Path) -> None:
    big = tmp_path / "big.npy"  # 200 MB of floats, sparse on disk: nothing of it is written
    np.lib.format.open_memmap(big, mode="w+", dtype=np.float32, shape=(800_000, 8, 8, 1)).flush()
    assert big.stat().st_size > 200_000_000 and count_images(big) == 800_000
    tracemalloc.start()
    try:
        loaded = load_samples(big, GRAY, limit=16)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert loaded.shape == (16, *GRAY) and type(loaded) is np.ndarray  # a copy: the mapping is closed
    assert peak < 2_000_000, peak  # what 16 images cost, not the file

    expected = images(GRAY, count=3000)
    np.savez_compressed(tmp_path / "compressed.npz", samples=expected)
    np.savez(tmp_path / "stored.npz", samples=np.asfortranarray(expected), labels=np.arange(3))
    for name in ("compressed.npz", "stored.npz"):
        path = tmp_path / name
        assert count_images(path) == 3000
        np.testing.assert_array_equal(load_samples(path, GRAY, limit=7), expected[:7], err_msg=name)
