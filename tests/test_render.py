"""The drawing code of genlab.render: grids, labels, GIFs, latent paths, plots. No TensorFlow."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from statistics import NormalDist

import numpy as np
import pytest
from PIL import Image

from genlab.render.gif import count_frames, frame_duration_ms, save_gif, there_and_back
from genlab.render.grid import LABEL_GAP, grid_layout, line_height, save_png, text_width, tile, to_uint8
from genlab.rundir.saved_run import GaussianFit
from genlab.render.latent import (
    attribute_vector,
    lerp,
    manifold,
    normal_quantiles,
    slerp,
    sweep_values,
    traversal,
)
from genlab.render.plots import code_histograms, save_figure, scatter_codes


def images(count: int, height: int = 5, width: int = 7, channels: int = 1, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (count, height, width, channels), dtype=np.uint8)


def test_render_package_does_not_import_tensorflow() -> None:
    code = (
        "import sys, genlab.render.grid, genlab.render.gif, genlab.render.latent, genlab.render.plots; "
        "sys.exit('tensorflow' in sys.modules)"
    )
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


# ----------------------------------------------------------------------------- grid


@pytest.mark.parametrize("count, columns, rows", [(1, None, 1), (4, None, 2), (5, None, 2), (10, None, 3), (7, 3, 3)])
@pytest.mark.parametrize("padding", [0, 2, 5])
def test_tile_geometry(count: int, columns: int | None, rows: int, padding: int) -> None:
    picture = tile(images(count), columns, padding)
    used_columns = columns or int(np.ceil(np.sqrt(count)))
    assert picture.shape == (rows * (5 + padding) + padding, used_columns * (7 + padding) + padding, 1)
    assert picture.dtype == np.uint8


def test_tile_places_every_image_where_the_layout_says() -> None:
    batch = images(7, channels=3)
    layout = grid_layout(7, (5, 7), columns=3, padding=2)
    picture = tile(batch, 3, 2)
    for index, image in enumerate(batch):
        np.testing.assert_array_equal(layout.tile_at(picture, *divmod(index, 3)), image)
    assert picture[0, 0].tolist() == [255, 255, 255]  # padding is the background


def test_tile_converts_floats_and_rejects_bad_shapes() -> None:
    floats = np.linspace(0.0, 1.0, 2 * 3 * 3).reshape(2, 3, 3, 1)
    picture = tile(floats, padding=1)
    np.testing.assert_array_equal(grid_layout(2, (3, 3), padding=1).tile_at(picture, 0, 1), to_uint8(floats[1]))
    with pytest.raises(ValueError):
        tile(np.zeros((0, 4, 4, 1)))
    with pytest.raises(ValueError):
        tile(np.zeros((4, 4, 1)))


def test_labels_add_bands_and_keep_tiles_in_place() -> None:
    batch = images(6)
    rows, columns = ["z0", "z12"], ["-3", "0", "+3"]
    picture = tile(batch, 3, 2, row_labels=rows, column_labels=columns, caption="step 10")
    layout = grid_layout(6, (5, 7), 3, 2, rows, columns, "step 10")
    band = LABEL_GAP + line_height()
    assert layout.top == 2 * band
    assert layout.left == LABEL_GAP + text_width("z12")
    assert picture.shape[:2] == (layout.height, layout.width)
    assert layout.height == 2 * band + 2 * (5 + 2) + 2
    for index, image in enumerate(batch):
        np.testing.assert_array_equal(layout.tile_at(picture, *divmod(index, 3)), image)
    # text is drawn in ink in the bands, which are otherwise background
    assert (picture[: layout.top] == 0).any() and (picture[:, : layout.left] == 0).any()
    plain = tile(batch, 3, 2)
    assert plain.shape[:2] == (layout.height - layout.top, layout.width - layout.left)


def test_label_text_differs_in_pixels() -> None:
    first = tile(images(1), caption="step 10")
    second = tile(images(1), caption="step 20")
    assert first.shape == second.shape and not np.array_equal(first, second)


def test_a_wide_caption_widens_the_picture_and_centres_the_tiles() -> None:
    caption = "a caption much wider than one tile"
    layout = grid_layout(1, (5, 7), padding=2, caption=caption)
    assert layout.width == 2 * LABEL_GAP + text_width(caption)
    picture = tile(images(1), padding=2, caption=caption)
    np.testing.assert_array_equal(layout.tile_at(picture, 0, 0), images(1)[0])
    assert abs(layout.margin_left - layout.margin_right) <= 1


def test_label_counts_must_match_the_grid() -> None:
    with pytest.raises(ValueError, match="row labels"):
        tile(images(4), 2, row_labels=["only one"])
    with pytest.raises(ValueError, match="column labels"):
        tile(images(4), 2, column_labels=["a", "b", "c"])


def test_labels_on_colour_and_dark_backgrounds() -> None:
    picture = tile(images(2, channels=3), 2, background=0, caption="x")
    assert picture.shape[-1] == 3 and (picture[: LABEL_GAP + line_height()] == 255).any()


def test_save_png_round_trip(tmp_path: Path) -> None:
    picture = tile(images(3, channels=1), 3)
    path = save_png(picture, tmp_path / "sub" / "grid.png")
    np.testing.assert_array_equal(np.asarray(Image.open(path))[..., np.newaxis], picture)
    assert [entry.name for entry in path.parent.iterdir()] == ["grid.png"]


# ----------------------------------------------------------------------------- gif


def test_frame_duration_from_fps() -> None:
    assert frame_duration_ms(10) == 100
    assert frame_duration_ms(8) in (120, 130)
    assert frame_duration_ms(50) == 20
    assert frame_duration_ms(1000) == 20  # clamped: browsers slow shorter frames down
    with pytest.raises(ValueError):
        frame_duration_ms(0)


def test_there_and_back() -> None:
    assert there_and_back([0, 1, 2, 3]) == [0, 1, 2, 3, 2, 1]
    assert there_and_back([0, 1]) == [0, 1]
    assert there_and_back([0]) == [0]


@pytest.mark.parametrize("channels", [1, 3])
def test_gif_frames_loop_duration_and_bytes(tmp_path: Path, channels: int) -> None:
    frames = [tile(images(4, channels=channels, seed=seed), caption=f"step {seed}") for seed in range(5)]
    first = save_gif(frames, tmp_path / "a.gif", fps=10)
    second = save_gif(frames, tmp_path / "b.gif", fps=10)
    assert count_frames(first) == 5
    assert first.read_bytes() == second.read_bytes()
    with Image.open(first) as gif:
        assert gif.info["loop"] == 0 and gif.info["duration"] == 100
        assert gif.size == (frames[0].shape[1], frames[0].shape[0])


def test_gif_rejects_frames_of_different_sizes(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="same shape"):
        save_gif([tile(images(1)), tile(images(2))], tmp_path / "x.gif", fps=5)


# ----------------------------------------------------------------------------- latent paths


def test_traversal_changes_only_its_dimension() -> None:
    base = np.array([0.5, -1.0, 2.0, 0.25], np.float32)
    values = sweep_values(9, 3.0)
    codes = traversal(base, [2, 0], values)
    assert codes.shape == (2, 9, 4)
    np.testing.assert_allclose(values, np.linspace(-3, 3, 9))
    for row, dim in enumerate([2, 0]):
        np.testing.assert_allclose(codes[row, :, dim], values)
        others = np.delete(codes[row], dim, axis=1)
        np.testing.assert_array_equal(others, np.broadcast_to(np.delete(base, dim), others.shape))
    with pytest.raises(ValueError):
        traversal(base, [4], values)


def test_lerp_endpoints_and_even_steps() -> None:
    start, end = np.array([1.0, 0.0, -2.0]), np.array([3.0, 4.0, 2.0])
    path = lerp(start, end, 5)
    np.testing.assert_allclose(path[0], start)
    np.testing.assert_allclose(path[-1], end)
    np.testing.assert_allclose(np.diff(path, axis=0), np.broadcast_to((end - start) / 4, (4, 3)), rtol=1e-6)


def test_slerp_endpoints_and_norms() -> None:
    rng = np.random.default_rng(0)
    start, end = rng.standard_normal(16), rng.standard_normal(16)
    end *= np.linalg.norm(start) / np.linalg.norm(end)
    path = slerp(start, end, 11)
    np.testing.assert_allclose(path[0], start, rtol=1e-6)
    np.testing.assert_allclose(path[-1], end, rtol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(path, axis=1), np.linalg.norm(start), rtol=1e-5)
    # a straight line through the inside of the sphere is shorter in the middle
    assert np.linalg.norm(lerp(start, end, 11)[5]) < np.linalg.norm(path[5])
    # equal angles between consecutive points
    unit = path / np.linalg.norm(path, axis=1, keepdims=True)
    angles = np.arccos(np.clip(np.sum(unit[1:] * unit[:-1], axis=1), -1, 1))
    np.testing.assert_allclose(angles, angles[0], rtol=1e-4)


def test_slerp_of_parallel_codes_falls_back_to_lerp() -> None:
    start = np.array([1.0, 2.0])
    np.testing.assert_allclose(slerp(start, 2 * start, 3), lerp(start, 2 * start, 3))
    np.testing.assert_allclose(slerp(np.zeros(2), start, 3), lerp(np.zeros(2), start, 3))
    with pytest.raises(ValueError):
        slerp(start, start, 1)


def test_normal_quantiles() -> None:
    values = normal_quantiles(20)
    assert values.shape == (20,)
    assert values[0] == pytest.approx(-1.6448536, abs=1e-6) and values[-1] == pytest.approx(1.6448536, abs=1e-6)
    np.testing.assert_allclose(values, -values[::-1], atol=1e-12)
    assert np.all(np.diff(values) > 0)
    assert NormalDist().cdf(values[10]) == pytest.approx(0.05 + 10 * 0.9 / 19)


def test_manifold_codes() -> None:
    codes = manifold(5, (3, 1), 4)
    grid = codes.reshape(4, 4, 5)
    values = normal_quantiles(4)
    np.testing.assert_allclose(grid[0, :, 3], values)  # left to right
    np.testing.assert_allclose(grid[:, 0, 1], values[::-1])  # bottom to top
    assert np.all(grid[:, :, [0, 2, 4]] == 0)
    with pytest.raises(ValueError):
        manifold(2, (0, 2), 4)
    with pytest.raises(ValueError):
        manifold(3, (1, 1), 4)


def test_attribute_vector() -> None:
    codes = np.array([[1.0, 0.0], [3.0, 2.0], [0.0, 0.0], [0.0, 4.0]])
    flags = np.array([True, True, False, False])
    np.testing.assert_allclose(attribute_vector(codes, flags), [2.0, -1.0])
    with pytest.raises(ValueError):
        attribute_vector(codes, np.ones(4, bool))


def test_gaussian_fit_recovers_mean_and_covariance() -> None:
    rng = np.random.default_rng(0)
    true_mean = np.array([1.0, -2.0, 0.5])
    mixing = np.array([[1.0, 0.0, 0.0], [0.8, 0.5, 0.0], [0.0, 0.3, 2.0]])
    codes = true_mean + rng.standard_normal((20000, 3)) @ mixing.T
    fit = GaussianFit.fit(codes)
    np.testing.assert_allclose(fit.mean, true_mean, atol=0.05)
    np.testing.assert_allclose(fit.covariance, mixing @ mixing.T, atol=0.1)
    samples = fit.sample(np.random.default_rng(1), 20000)
    np.testing.assert_allclose(np.cov(samples, rowvar=False), fit.covariance, atol=0.1)
    cold = fit.sample(np.random.default_rng(1), 20000, temperature=0.5)
    np.testing.assert_allclose(np.cov(cold, rowvar=False), 0.25 * fit.covariance, atol=0.05)
    np.testing.assert_array_equal(fit.sample(np.random.default_rng(7), 3), fit.sample(np.random.default_rng(7), 3))


def test_gaussian_fit_of_fewer_codes_than_dimensions_still_samples() -> None:
    fit = GaussianFit.fit(np.random.default_rng(0).standard_normal((3, 8)))
    samples = fit.sample(np.random.default_rng(0), 5)
    assert samples.shape == (5, 8) and np.all(np.isfinite(samples))
    frozen = fit.sample(np.random.default_rng(0), 2, temperature=0.0)
    np.testing.assert_allclose(frozen, np.tile(fit.mean, (2, 1)), atol=1e-6)


# ----------------------------------------------------------------------------- plots


def test_plots_are_written_and_deterministic(tmp_path: Path) -> None:
    codes = np.random.default_rng(0).standard_normal((200, 20))
    labels = np.arange(200) % 3
    scatter = scatter_codes(codes, (0, 1), labels, ["cat", "dog", "bird"], "title")
    assert [text.get_text() for text in scatter.axes[0].get_legend().get_texts()] == ["cat", "dog", "bird"]
    histograms = code_histograms(codes)
    assert len(histograms.axes) == 16  # at most 16 dimensions
    first = save_figure(scatter, tmp_path / "a.png")
    second = save_figure(scatter_codes(codes, (0, 1), labels, ["cat", "dog", "bird"], "title"), tmp_path / "b.png")
    assert first.read_bytes() == second.read_bytes()
    save_figure(histograms, tmp_path / "h.png")
    assert Image.open(tmp_path / "h.png").size[0] > 0


# ----------------------------------------------------------------------------- attribute lookup


def test_attributes_are_class_names_or_0_1_attributes() -> None:
    from types import SimpleNamespace

    from genlab.data.base import ImageSet
    from genlab.errors import GenlabError
    from genlab.render.paths import attribute_flags, check_attribute_name

    pictures = images(4, 4, 4)
    labelled = ImageSet("mnist", pictures, pictures, np.array([0, 1, 2, 1]), np.array([1, 0, 1, 2]), ["a", "b", "c"])
    job = SimpleNamespace(run=SimpleNamespace(data=labelled, info={"name": "mnist", "class_names": ["a", "b", "c"]}))
    np.testing.assert_array_equal(attribute_flags(job, "b"), [True, False, True, False])
    with pytest.raises(GenlabError, match="attribute=z is not a class or attribute of mnist; valid: a, b, c"):
        check_attribute_name(job, "z")
    faces = ImageSet(
        "celeba",
        pictures,
        pictures,
        attribute_names=["Smiling", "Male"],
        train_attributes=np.zeros((4, 2), np.uint8),
        test_attributes=np.array([[1, 0], [0, 0], [1, 1], [0, 1]], np.uint8),
    )
    job = SimpleNamespace(run=SimpleNamespace(data=faces, info={"name": "celeba", "class_names": None}))
    check_attribute_name(job, "Smiling")  # nothing recorded in the run to check against: the data decides
    np.testing.assert_array_equal(attribute_flags(job, "Male"), [False, False, True, True])
    with pytest.raises(GenlabError, match="valid: Smiling, Male"):
        attribute_flags(job, "Sneaker")
