"""Face sets and streaming data: CelebA in the official layout, Olivetti, the records file and its cache.

CelebA is generated (tests/fakedata.py) as users have it: a folder of 178x218 JPEGs or the
zip, the attribute and partition files, and a corrupt JPEG among the pictures.
"""
from __future__ import annotations

import hashlib
import http.server
import json
import logging
import pickle
import socket
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import fakedata
import numpy as np
from PIL import Image
import pytest

from conftest import run_genlab, tiny_train_args
from genlab.config.schema import DatasetConfig
from genlab.data import cache, celeba, load_dataset, locate, olivetti
from genlab.data.records import ImageRecords, RecordsError, RecordsWriter, write_records
from genlab.data.transform import fit_to_config
from genlab.errors import ConfigError, DataError

SIZE = 16  # small pictures keep decoding quick; the crop still comes from the 178x218 originals


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """HOME (and so ~/.cache and ~/.keras) and the Debian root in the test's own folder."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.delenv("KERAS_HOME", raising=False)
    monkeypatch.setattr(locate, "DEBIAN_ROOT", tmp_path / "debian")
    return home


@pytest.fixture(scope="module")
def celeba_dirs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The same 40 pictures as a folder and as the zip (each test copies what it changes)."""
    root = tmp_path_factory.mktemp("celeba")
    return {
        "folder": fakedata.write_celeba(root / "folder", n=40),
        "zip": fakedata.write_celeba(root / "zip", n=40, as_zip=True),
    }


def celeba_config(path: Path, **overrides) -> DatasetConfig:
    return DatasetConfig(name="celeba", path=str(path), **{"image_size": SIZE, "crop": 148, **overrides})


def fresh_celeba(tmp_path: Path, **kwargs) -> Path:
    return fakedata.write_celeba(tmp_path / "celeba", **{"n": 20, **kwargs})


def expected_split(n: int, code: int, corrupt: int = 1) -> np.ndarray:
    """Positions of split ``code`` that decode (the corrupt pictures left out)."""
    bad = set(fakedata.celeba_corrupt_positions(n, corrupt))
    return np.array([i for i in np.flatnonzero(fakedata.celeba_split_codes(n) == code) if i not in bad])


# ----------------------------------------------------------------------------- CelebA


def test_celeba_folder_and_zip_give_the_same_arrays(celeba_dirs: dict[str, Path]) -> None:
    from_folder = load_dataset(celeba_config(celeba_dirs["folder"]))
    from_zip = load_dataset(celeba_config(celeba_dirs["zip"]))
    assert isinstance(from_folder.train_images, ImageRecords) and isinstance(from_zip.test_images, ImageRecords)
    assert from_folder.image_shape == from_zip.image_shape == (SIZE, SIZE, 3)
    for split in ("train_images", "test_images", "train_attributes", "test_attributes"):
        np.testing.assert_array_equal(np.asarray(getattr(from_folder, split)), np.asarray(getattr(from_zip, split)))
    assert (from_folder.num_train, len(from_folder.test_images)) == (27, 8)  # 28 train less the corrupt one
    assert from_folder.train_labels is None and from_folder.class_names is None
    assert not (celeba_dirs["zip"] / "img_align_celeba").exists()  # read in place, nothing extracted


def test_celeba_attributes_are_aligned_with_the_pictures(celeba_dirs: dict[str, Path]) -> None:
    images = load_dataset(celeba_config(celeba_dirs["zip"], image_size=32))
    assert images.attribute_names == list(fakedata.CELEBA_ATTRIBUTES)
    values = fakedata.celeba_attributes(40) == 1
    for split, code in (("train", 0), ("test", 2)):
        expected = values[expected_split(40, code)].astype(np.uint8)
        attributes = getattr(images, f"{split}_attributes")
        assert attributes.dtype == np.uint8
        np.testing.assert_array_equal(attributes, expected)
        # the pictures show their attributes: a bright mouth bar exactly where Smiling is 1
        pictures = np.asarray(getattr(images, f"{split}_images")).astype(float)
        top, bottom = (int(fraction * 32) + 1 for fraction in fakedata.CELEBA_MOUTH)
        mouth = pictures[:, top:bottom, 12:20].mean(axis=(1, 2, 3))
        smiling = attributes[:, images.attribute_names.index("Smiling")] == 1
        assert smiling.any() and (~smiling).any()
        assert mouth[smiling].min() > mouth[~smiling].max()


def test_celeba_corrupt_picture_is_skipped_and_counted(celeba_dirs: dict[str, Path]) -> None:
    images = load_dataset(celeba_config(celeba_dirs["folder"]))
    skipped = [note for note in images.notes if "skipped" in note]
    assert len(skipped) == 1 and "skipped 1 unreadable" in skipped[0] and "000002.jpg" in skipped[0]
    assert any("validation pictures are not used" in note for note in images.notes)


@pytest.mark.parametrize("as_zip", [False, True])
def test_celeba_on_bad_image_fail_names_the_file(tmp_path: Path, as_zip: bool) -> None:
    root = fresh_celeba(tmp_path, as_zip=as_zip)
    with pytest.raises(DataError, match=r"cannot decode .*000002\.jpg.*on_bad_image=fail"):
        load_dataset(celeba_config(root, on_bad_image="fail"))
    load_dataset(celeba_config(root))  # skip builds the cache...
    with pytest.raises(DataError, match=r"000002\.jpg"):  # ...and fail still refuses it when reading it back
        load_dataset(celeba_config(root, on_bad_image="fail"))


def test_celeba_without_corrupt_pictures_passes_with_fail(tmp_path: Path) -> None:
    images = load_dataset(celeba_config(fresh_celeba(tmp_path, corrupt=0), on_bad_image="fail"))
    assert images.num_train == 14 and not any("skipped" in note for note in images.notes)


@pytest.mark.parametrize(
    ("remove", "named"),
    [
        ("list_eval_partition.txt", "list_eval_partition.txt"),
        ("list_attr_celeba.txt", "list_attr_celeba.txt"),
        ("img_align_celeba", "img_align_celeba/ (or img_align_celeba.zip)"),
    ],
)
def test_celeba_missing_files_are_named(tmp_path: Path, remove: str, named: str) -> None:
    root = fresh_celeba(tmp_path)
    target = root / remove
    if target.is_dir():
        for picture in target.iterdir():
            picture.unlink()
        target.rmdir()
    else:
        target.unlink()
    with pytest.raises(DataError) as error:
        load_dataset(celeba_config(root))
    message = str(error.value)
    assert f"{named} not found" in message and str(root) in message
    assert 'README section "Getting CelebA"' in message
    assert "img_align_celeba/ (or img_align_celeba.zip), list_attr_celeba.txt and list_eval_partition.txt" in message


def test_celeba_missing_pictures_or_rows_are_named(tmp_path: Path) -> None:
    root = fresh_celeba(tmp_path)
    (root / "img_align_celeba" / "000005.jpg").unlink()
    with pytest.raises(DataError, match=r"incomplete dataset: 1 of the 20 pictures .* \(e\.g\. 000005\.jpg\)"):
        load_dataset(celeba_config(root))
    root = fresh_celeba(tmp_path / "rows")
    lines = (root / "list_attr_celeba.txt").read_text().splitlines()
    (root / "list_attr_celeba.txt").write_text("\n".join(["19", *lines[1:-1]]) + "\n")
    with pytest.raises(DataError, match=r"1 of the 20 attribute rows .* \(e\.g\. 000020\.jpg\)"):
        load_dataset(celeba_config(root))


def test_celeba_attribute_count_must_match_the_rows(tmp_path: Path) -> None:
    root = fresh_celeba(tmp_path)
    attributes = root / "list_attr_celeba.txt"
    lines = attributes.read_text().splitlines()
    for first_line, message in (
        ("500", f"{attributes} line 1 says 500 pictures, but the file has 20 rows"),
        ("19", f"{attributes} line 1 says 19 pictures, but the file has 20 rows"),
        ("", f"{attributes} line 1 is not the number of pictures: ''"),
        ("5_Clock_Shadow Arched_Eyebrows", f"{attributes} line 1 is not the number of pictures: '5_Clock_Shadow"),
    ):
        attributes.write_text("\n".join([first_line, *lines[1:]]) + "\n")
        with pytest.raises(DataError) as error:
            load_dataset(celeba_config(root))
        assert str(error.value).startswith(f"celeba: {message}"), str(error.value)
    attributes.write_text("\n".join([*lines[:5], lines[4], *lines[5:]]) + "\n")  # a row twice
    with pytest.raises(DataError, match=r"list_attr_celeba\.txt line 6 repeats the row of 000003\.jpg"):
        load_dataset(celeba_config(root))
    attributes.write_text("\n".join(lines) + "\n")
    partition = root / "list_eval_partition.txt"
    rows = partition.read_text().splitlines()
    partition.write_text("\n".join([*rows[:3], rows[2].replace(" 0", " 2"), *rows[3:]]) + "\n")  # a picture in two splits
    with pytest.raises(DataError, match=r"list_eval_partition\.txt line 4 repeats the split of 000003\.jpg"):
        load_dataset(celeba_config(root))


def test_celeba_malformed_text_files_name_the_line(tmp_path: Path) -> None:
    root = fresh_celeba(tmp_path)
    attributes = root / "list_attr_celeba.txt"
    lines = attributes.read_text().splitlines()
    lines[4] = lines[4].replace(" 1", " 2", 1).replace("-1", " 2", 1)
    attributes.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError, match=r"list_attr_celeba\.txt line 5 is not a name and 40 values"):
        load_dataset(celeba_config(root))
    (root / "list_eval_partition.txt").write_text("000001.jpg 0\n000002.jpg train\n")
    with pytest.raises(DataError, match=r"list_eval_partition\.txt line 2"):
        load_dataset(celeba_config(root))


def test_celeba_in_a_celeba_subfolder_or_the_keras_cache(tmp_path: Path, isolated: Path) -> None:
    fakedata.write_celeba(tmp_path / "data" / "celeba", n=20)
    assert load_dataset(celeba_config(tmp_path / "data")).num_train == 13
    fakedata.write_celeba(isolated / ".keras" / "datasets" / "celeba", n=20)
    assert load_dataset(DatasetConfig(name="celeba", image_size=SIZE, crop=148)).num_train == 13


def test_celeba_nowhere_says_where_it_looked(isolated: Path) -> None:
    with pytest.raises(DataError) as error:
        load_dataset(DatasetConfig(name="celeba", image_size=SIZE))
    message = str(error.value)
    assert "looked in:" in message and str(isolated / ".keras" / "datasets" / "celeba") in message
    assert "Getting CelebA" in message and "dataset.path=DIR" in message


def test_celeba_needs_image_size(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="dataset.image_size"):
        load_dataset(DatasetConfig(name="celeba", path=str(tmp_path), image_size=None))


def test_celeba_max_examples_decodes_only_what_is_used(tmp_path: Path) -> None:
    root = fresh_celeba(tmp_path, corrupt=0)
    images = load_dataset(celeba_config(root, max_examples=5))
    assert isinstance(images.train_images, ImageRecords)
    assert images.num_train == 5 and images.train_attributes.shape == (5, 40)
    full = load_dataset(celeba_config(root))
    np.testing.assert_array_equal(np.asarray(images.train_images), full.train_images[:5])


# ----------------------------------------------------------------------------- the cache


def cache_files(directory: Path) -> list[str]:
    return sorted(path.name for path in directory.glob("*.u8"))


def test_cache_is_written_once_then_reused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog) -> None:
    root = fresh_celeba(tmp_path)
    caplog.set_level(logging.INFO, logger="genlab.data")
    first = load_dataset(celeba_config(root))
    assert len(cache_files(root / ".genlab-cache")) == 2  # one per split
    assert "decoding 14 pictures into the cache" in caplog.text

    def no_decoding(*args, **kwargs):
        raise AssertionError("a cached split was decoded again")

    monkeypatch.setattr(cache, "decode_picture", no_decoding)
    caplog.clear()
    second = load_dataset(celeba_config(root))
    assert "reading cached images" in caplog.text and "decoding" not in caplog.text
    np.testing.assert_array_equal(np.asarray(first.train_images), np.asarray(second.train_images))
    np.testing.assert_array_equal(first.train_attributes, second.train_attributes)
    assert second.notes == first.notes  # the skipped picture is still counted


def test_changed_settings_or_files_make_a_new_cache(tmp_path: Path) -> None:
    root = fresh_celeba(tmp_path)
    load_dataset(celeba_config(root))
    small = cache_files(root / ".genlab-cache")
    bigger = load_dataset(celeba_config(root, image_size=20))
    assert bigger.image_shape == (20, 20, 3)
    load_dataset(celeba_config(root, crop=120))
    names = cache_files(root / ".genlab-cache")
    assert len(names) == 6 and set(small) < set(names)
    assert sum("-20x20x3-" in name for name in names) == 2
    grey = load_dataset(celeba_config(root, channels=1))
    assert grey.image_shape == (SIZE, SIZE, 1)
    # a changed picture file changes the train cache's key, not the test one's
    picture = root / "img_align_celeba" / "000001.jpg"
    picture.write_bytes(picture.read_bytes() + b"\0")
    before = set(cache_files(root / ".genlab-cache"))
    load_dataset(celeba_config(root))
    added = set(cache_files(root / ".genlab-cache")) - before
    assert len(added) == 1 and next(iter(added)).startswith("celeba-train-")


def test_cache_dir_setting_and_read_only_fallback(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, isolated: Path) -> None:
    root = fresh_celeba(tmp_path)
    load_dataset(celeba_config(root, cache_dir=str(tmp_path / "mine")))
    assert len(cache_files(tmp_path / "mine")) == 2 and not (root / ".genlab-cache").exists()

    writable = cache._writable
    monkeypatch.setattr(cache, "_writable", lambda directory: directory.name != ".genlab-cache" and writable(directory))
    load_dataset(celeba_config(root))
    assert len(cache_files(isolated / ".cache" / "genlab")) == 2


def test_a_killed_build_leaves_no_cache_that_looks_complete(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = fresh_celeba(tmp_path, corrupt=0)
    calls = []
    decode = cache.decode_picture

    def dies_on_the_fifth(*args, **kwargs):
        calls.append(1)
        if len(calls) == 5:
            raise KeyboardInterrupt
        return decode(*args, **kwargs)

    monkeypatch.setattr(cache, "decode_picture", dies_on_the_fifth)
    with pytest.raises(KeyboardInterrupt):
        load_dataset(celeba_config(root))
    leftovers = [path.name for path in (root / ".genlab-cache").iterdir()]
    assert not [name for name in leftovers if name.endswith((".u8", ".json"))], leftovers
    assert not [name for name in leftovers if name.endswith(".part")], leftovers
    monkeypatch.setattr(cache, "decode_picture", decode)
    assert load_dataset(celeba_config(root)).num_train == 14


def test_a_truncated_cache_is_rebuilt(tmp_path: Path) -> None:
    root = fresh_celeba(tmp_path)
    first = np.asarray(load_dataset(celeba_config(root)).train_images)
    train_cache = next((root / ".genlab-cache").glob("celeba-train-*.u8"))
    train_cache.write_bytes(train_cache.read_bytes()[:100])
    np.testing.assert_array_equal(np.asarray(load_dataset(celeba_config(root)).train_images), first)


@pytest.mark.parametrize(
    "info",
    [{"pictures": 500}, {"skipped": [999]}, {"skipped": [3, 3]}, {"skipped": "3"}, {"pictures": 14, "skipped": []}],
    ids=["pictures", "skipped-out-of-range", "skipped-twice", "skipped-not-a-list", "counts-disagree"],
)
def test_a_cache_whose_counts_disagree_is_rebuilt(info: dict, tmp_path: Path, caplog) -> None:
    root = fresh_celeba(tmp_path)
    first = load_dataset(celeba_config(root))
    sidecar = next((root / ".genlab-cache").glob("celeba-train-*.json"))
    header = json.loads(sidecar.read_text())
    header["info"].update(info)
    sidecar.write_text(json.dumps(header))
    caplog.set_level(logging.INFO, logger="genlab.data")
    again = load_dataset(celeba_config(root))
    assert "does not match its source" in caplog.text and "decoding 14 pictures into the cache" in caplog.text
    np.testing.assert_array_equal(np.asarray(again.train_images), np.asarray(first.train_images))
    assert again.notes == first.notes


# ----------------------------------------------------------------------------- records


@pytest.fixture
def records(tmp_path: Path) -> tuple[ImageRecords, np.ndarray]:
    images, _ = fakedata.make_images(23, 8, 3, seed=5)
    return write_records(tmp_path / "images.u8", images, info={"made": "by a test"}), images


KEYS = [
    0, 22, -1, -23, np.int64(7),
    slice(None), slice(5), slice(3, 11), slice(None, None, 4), slice(20, 2, -3), slice(30, 40),
    [4, 4, 0, 22, 3], np.array([], dtype=np.int64), np.array([[1, 2], [3, 4]]), [-1, -2],
    (slice(2, 6), 1), (3, slice(None), 0), (slice(None), Ellipsis, 2),
]


@pytest.mark.parametrize("key", KEYS, ids=repr)
def test_records_index_like_numpy(records: tuple[ImageRecords, np.ndarray], key) -> None:
    stored, images = records
    got = stored[key]
    assert isinstance(got, np.ndarray)
    np.testing.assert_array_equal(got, images[key])


def test_records_behave_like_a_read_only_array(records: tuple[ImageRecords, np.ndarray], tmp_path: Path) -> None:
    stored, images = records
    assert (stored.shape, stored.dtype, stored.ndim, len(stored)) == (images.shape, np.uint8, 4, 23)
    mask = np.arange(23) % 3 == 0
    np.testing.assert_array_equal(stored[mask], images[mask])
    np.testing.assert_array_equal(stored.read(np.array([9, 1, 9])), images[[9, 1, 9]])
    np.testing.assert_array_equal(np.asarray(stored), images)
    assert stored.info == {"made": "by a test"}
    view = stored.limit(5)
    assert isinstance(view, ImageRecords) and view.shape == (5, 8, 8, 3)
    np.testing.assert_array_equal(np.asarray(view), images[:5])
    with pytest.raises(IndexError):
        view[5]
    assert stored.limit(99).shape[0] == 23
    np.testing.assert_array_equal(np.asarray(pickle.loads(pickle.dumps(view))), images[:5])
    for bad in (23, -24, [0, 23]):
        with pytest.raises(IndexError):
            stored[bad]
    with pytest.raises(IndexError):
        stored[np.array([1.5])]
    with pytest.raises(IndexError):
        stored[np.ones(5, bool)]


def test_records_file_checks(records: tuple[ImageRecords, np.ndarray], tmp_path: Path) -> None:
    stored, _ = records
    assert stored.path.with_suffix(".json").is_file()
    data = stored.path.read_bytes()
    stored.path.write_bytes(data[:-1])
    with pytest.raises(RecordsError, match="expected"):
        ImageRecords(stored.path)
    with pytest.raises(RecordsError, match="missing"):
        ImageRecords(tmp_path / "never.u8")
    (tmp_path / "listed.json").write_text('{"format": "genlab-image-records", "version": 1, "shape": [0, 1, 1, 1], "info": []}')
    (tmp_path / "listed.u8").write_bytes(b"")
    with pytest.raises(RecordsError, match="no valid info"):
        ImageRecords(tmp_path / "listed.u8")
    (tmp_path / "other.json").write_text('{"format": "something else"}')
    (tmp_path / "other.u8").write_bytes(b"")
    with pytest.raises(RecordsError, match="not a genlab-image-records"):
        ImageRecords(tmp_path / "other.u8")


def test_records_writer_is_atomic(tmp_path: Path) -> None:
    target = tmp_path / "records" / "out.u8"
    with pytest.raises(RuntimeError):
        with RecordsWriter(target, (4, 4, 1)) as writer:
            writer.write(np.zeros((3, 4, 4, 1), np.uint8))
            raise RuntimeError("killed half way")
    assert list(target.parent.iterdir()) == []
    with RecordsWriter(target, (4, 4, 1)) as writer:
        with pytest.raises(ValueError, match="expected uint8 images of shape"):
            writer.write(np.zeros((4, 4, 3), np.uint8))
        writer.write(np.full((4, 4, 1), 7, np.uint8))
        done = writer.finish()
    assert done.shape == (1, 4, 4, 1) and done[0].max() == 7
    assert sorted(path.name for path in target.parent.iterdir()) == ["out.json", "out.u8"]


def test_records_from_an_iterable(tmp_path: Path) -> None:
    images, _ = fakedata.make_images(6, 8, 1, seed=2)
    stored = write_records(tmp_path / "it.u8", iter(images), image_shape=(8, 8, 1), total=6)
    np.testing.assert_array_equal(np.asarray(stored), images)


def test_fit_to_config_keeps_records_on_disk(tmp_path: Path) -> None:
    root = fresh_celeba(tmp_path, corrupt=0)
    images = celeba.load(celeba_config(root))
    fitted = fit_to_config(images, celeba_config(root, max_examples=4))
    assert isinstance(fitted.train_images, ImageRecords) and fitted.train_images.shape[0] == 4
    assert fitted.train_attributes.shape == (4, 40)
    np.testing.assert_array_equal(fitted.train_images[:], images.train_images[:4])
    with pytest.raises(DataError, match="config asks for"):
        fit_to_config(images, celeba_config(root, image_size=SIZE * 2))


# ----------------------------------------------------------------------------- Olivetti


@pytest.fixture
def olivetti_home(tmp_path: Path) -> Path:
    """A folder holding a generated olivettifaces.mat in the official layout."""
    pytest.importorskip("scipy.io")
    return fakedata.write_olivetti_home(tmp_path / "olivetti")


def olivetti_config(path: Path | str | None, **overrides) -> DatasetConfig:
    return DatasetConfig(name="olivetti", path=None if path is None else str(path), test_fraction=0.2, **overrides)


def one_line_error(error: pytest.ExceptionInfo, *fragments: str) -> str:
    message = str(error.value)
    assert "\n" not in message, message
    for fragment in fragments:
        assert fragment in message, message
    return message


def test_olivetti_is_split_per_person_with_the_files_pixels(olivetti_home: Path) -> None:
    images = load_dataset(olivetti_config(olivetti_home, download=False))
    assert images.train_images.shape == (320, 64, 64, 1) and images.test_images.shape == (80, 64, 64, 1)
    assert images.train_images.dtype == np.uint8
    assert np.bincount(images.train_labels).tolist() == [8] * 40
    assert np.bincount(images.test_labels).tolist() == [2] * 40
    assert images.class_names[0] == "person 0" and len(images.class_names) == 40
    # Every picture comes out exactly as generated (the file's 0..255 scaled to [0, 1] and back), with its person's label.
    rows = {image.tobytes(): index for index, image in enumerate(fakedata.olivetti_levels())}
    for split in ("train", "test"):
        for image, label in zip(getattr(images, f"{split}_images"), getattr(images, f"{split}_labels")):
            assert rows[image[..., 0].tobytes()] // 10 == label
    again = load_dataset(olivetti_config(olivetti_home / olivetti.FILENAME, download=False))  # the file itself
    np.testing.assert_array_equal(again.test_images, images.test_images)
    np.testing.assert_array_equal(again.train_labels, images.train_labels)


def test_olivetti_pixels_are_scaled_by_the_files_minimum_and_maximum(tmp_path: Path) -> None:
    from scipy.io import savemat

    faces = np.random.default_rng(1).uniform(0.2, 0.7, (4096, 400))  # MATLAB doubles, not 0..255
    savemat(tmp_path / olivetti.FILENAME, {"faces": faces})
    read = olivetti.read_faces(tmp_path / olivetti.FILENAME)
    expected = (faces.T.astype(np.float32) - np.float32(faces.min())) / np.float32(faces.max() - faces.min())
    np.testing.assert_allclose(read, expected.reshape(400, 64, 64).transpose(0, 2, 1), atol=1e-6)
    assert read.min() == 0.0 and read.max() == 1.0 and read.dtype == np.float32
    assert read[3, 5, 7] == pytest.approx(expected[3, 7 * 64 + 5], abs=1e-6)  # column-major: row 5, column 7


def test_olivetti_found_in_the_keras_cache_without_download(olivetti_home: Path, isolated: Path) -> None:
    cached = isolated / ".keras" / "datasets" / "olivetti"
    cached.mkdir(parents=True)
    (olivetti_home / olivetti.FILENAME).rename(cached / olivetti.FILENAME)
    images = load_dataset(olivetti_config(None, download=False))
    assert f"reading {cached / olivetti.FILENAME}" in images.notes[0]


def test_olivetti_missing_file_is_a_one_line_error(tmp_path: Path) -> None:
    with pytest.raises(DataError) as error:
        load_dataset(olivetti_config(tmp_path, download=False))
    one_line_error(error, olivetti.FILENAME, str(tmp_path), "dataset.path", olivetti.URL)
    with pytest.raises(DataError) as error:
        load_dataset(olivetti_config(None, download=False))
    one_line_error(error, olivetti.FILENAME, "download is off", ".keras/datasets/olivetti", olivetti.URL)


def test_olivetti_never_reads_scikit_learns_pickle_cache(tmp_path: Path) -> None:
    sentinel = tmp_path / "unpickled"

    class Payload:
        def __reduce__(self):
            return (open, (str(sentinel), "w"))

    (tmp_path / "olivetti_py3.pkz").write_bytes(pickle.dumps(Payload()))
    with pytest.raises(DataError) as error:
        load_dataset(olivetti_config(tmp_path, download=False))
    one_line_error(error, olivetti.FILENAME, "pickle, which genlab does not read")
    assert not sentinel.exists()


@pytest.mark.parametrize("damage", ["truncated", "text", "no faces", "wrong shape", "constant"])
def test_olivetti_damaged_file_is_a_one_line_error_naming_it(damage: str, olivetti_home: Path) -> None:
    from scipy.io import savemat

    path = olivetti_home / olivetti.FILENAME
    if damage == "truncated":
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    elif damage == "text":
        path.write_text("<html>not found</html>\n")
    elif damage == "no faces":
        savemat(path, {"pictures": np.zeros((4096, 400), np.uint8)})
    elif damage == "wrong shape":
        savemat(path, {"faces": np.zeros((4096, 399), np.uint8)})
    else:
        savemat(path, {"faces": np.full((4096, 400), 7, np.uint8)})
    with pytest.raises(DataError) as error:
        load_dataset(olivetti_config(olivetti_home, download=False))
    one_line_error(error, str(path))


def test_olivetti_without_scipy_says_how_to_install(olivetti_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "scipy.io", None)
    with pytest.raises(DataError) as error:
        load_dataset(olivetti_config(olivetti_home, download=False))
    one_line_error(error, "pip install scipy", "genlab[faces]")


@pytest.fixture
def olivetti_server(olivetti_home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """olivetti.URL served from localhost with the generated file's checksum; yields the requested paths."""
    body = (olivetti_home / olivetti.FILENAME).read_bytes()
    requested: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            requested.append(self.path)
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setattr(olivetti, "URL", f"http://127.0.0.1:{server.server_address[1]}/files/5976027")
    monkeypatch.setattr(olivetti, "SHA256", hashlib.sha256(body).hexdigest())
    try:
        yield requested
    finally:
        server.shutdown()
        server.server_close()


def test_olivetti_is_downloaded_once_with_its_checksum(olivetti_server: list[str], isolated: Path) -> None:
    images = load_dataset(olivetti_config(None, download=True))
    target = isolated / ".keras" / "datasets" / "olivetti"
    assert olivetti_server == ["/files/5976027"]
    assert [path.name for path in target.iterdir()] == [olivetti.FILENAME]  # no temporary file left
    assert images.train_images.shape == (320, 64, 64, 1)
    load_dataset(olivetti_config(None, download=True))
    assert len(olivetti_server) == 1  # the second load reads the downloaded file


def test_olivetti_download_with_a_wrong_checksum_keeps_nothing(
    olivetti_server: list[str], isolated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(olivetti, "SHA256", "0" * 64)
    with pytest.raises(DataError) as error:
        load_dataset(olivetti_config(None, download=True))
    one_line_error(error, "checksum mismatch", olivetti.URL, olivetti.FILENAME)
    assert not list((isolated / ".keras" / "datasets" / "olivetti").iterdir())


def test_olivetti_without_network_names_the_url_and_where_to_put_the_file(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as probe:  # a port nothing listens on: the connection is refused at once
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setattr(olivetti, "URL", f"http://127.0.0.1:{port}/files/5976027")
    with pytest.raises(DataError) as error:
        load_dataset(olivetti_config(None, download=True))
    one_line_error(error, "download failed", olivetti.URL, olivetti.FILENAME, ".keras/datasets/olivetti", "dataset.path")


def test_stratified_split_keeps_every_label_on_both_sides() -> None:
    labels = np.repeat(np.arange(5), [2, 3, 10, 1, 7])
    is_test = olivetti.stratified_test_mask(labels, 0.2, seed=0)
    for label in (0, 1, 2, 4):
        members = is_test[labels == label]
        assert members.any() and not members.all()
    assert not is_test[labels == 3].any()
    assert is_test[labels == 2].sum() == 2


# ----------------------------------------------------------------------------- through the CLI


def test_training_on_generated_celeba_through_the_cli(tmp_path: Path) -> None:
    root = fakedata.write_celeba(tmp_path / "celeba", n=60, as_zip=True)
    dataset_args = ["dataset=celeba", f"dataset.path={root}", "dataset.image_size=32"]
    run_dir = tmp_path / "run"
    result = run_genlab(*tiny_train_args("vae", dataset_args, steps=10), f"hydra.run.dir={run_dir}", cwd=tmp_path)
    assert result.returncode == 0, result.output
    assert "skipped 1 unreadable picture(s), e.g. " in result.output and "000002.jpg" in result.output
    assert "training vae on celeba 32x32x3: 10 steps of batch 16 (5 epochs of 41 images; trainer.steps)" in result.output
    assert (run_dir / "samples.png").is_file() and (run_dir / "reconstructions.png").is_file()
    assert cache_files(root / ".genlab-cache")

    # The 40 attributes reach attribute arithmetic.
    arithmetic = run_genlab("arithmetic", f"checkpoint={run_dir}", "attribute=Smiling", "n=2", cwd=tmp_path)
    assert arithmetic.returncode == 0, arithmetic.output
    picture = Image.open(next((run_dir / "renders" / "arithmetic").glob("*Smiling*.png")))
    assert picture.size[1] >= 2 * 32
    unknown = run_genlab("arithmetic", f"checkpoint={run_dir}", "attribute=Smiles", cwd=tmp_path)
    assert unknown.returncode != 0 and "Smiling" in unknown.output and "Traceback" not in unknown.output


def test_a_header_count_that_disagrees_ends_training_in_one_line(tmp_path: Path) -> None:
    root = fresh_celeba(tmp_path)
    attributes = root / "list_attr_celeba.txt"
    attributes.write_text("500\n" + attributes.read_text().split("\n", 1)[1])
    run_dir = tmp_path / "run"
    dataset_args = ["dataset=celeba", f"dataset.path={root}", "dataset.image_size=16"]
    result = run_genlab("train", *dataset_args, f"hydra.run.dir={run_dir}", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr == f"genlab: error: celeba: {attributes} line 1 says 500 pictures, but the file has 20 rows\n"
    assert list(run_dir.iterdir()) == []


def test_training_on_olivetti_through_the_cli(olivetti_home: Path, tmp_path: Path) -> None:
    dataset_args = ["dataset=olivetti", f"dataset.path={olivetti_home}", "dataset.download=false"]
    run_dir = tmp_path / "run"
    result = run_genlab(*tiny_train_args("vae", dataset_args, steps=5), f"hydra.run.dir={run_dir}", cwd=tmp_path)
    assert result.returncode == 0, result.output
    assert "320 train and 80 test faces of 40 people" in result.output
    assert "training vae on olivetti 64x64x1: 5 steps of batch 16 (0.25 epochs of 320 images; trainer.steps)" in result.output

    empty = tmp_path / "empty"
    empty.mkdir()
    dataset_args = ["dataset=olivetti", f"dataset.path={empty}", "dataset.download=false"]
    missing = run_genlab(*tiny_train_args("vae", dataset_args, steps=5), f"hydra.run.dir={tmp_path / 'run2'}", cwd=tmp_path)
    errors = [line for line in missing.stderr.splitlines() if line.startswith("genlab: error:")]
    assert missing.returncode != 0 and "Traceback" not in missing.output, missing.output
    assert len(errors) == 1 and olivetti.FILENAME in errors[0] and str(empty) in errors[0], missing.output


# ----------------------------------------------------------------------------- memory


PEAK_OF_CHILD = """
import resource, subprocess, sys
completed = subprocess.run(sys.argv[1:], capture_output=True, text=True)
if completed.returncode:
    sys.exit(completed.stdout + completed.stderr)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""

LOAD_AND_READ = """
import resource, sys
import numpy as np
from genlab.config.schema import DatasetConfig
from genlab.data import load_dataset
images = load_dataset(DatasetConfig(name="folder", path=sys.argv[1], image_size=64, cache_dir=sys.argv[2]))
assert images.num_train > 1000, images.num_train
rng = np.random.default_rng(0)
for _ in range(50):
    images.train_images.read(rng.integers(0, images.num_train, 128))
for start in range(0, len(images.test_images), 256):
    images.test_images[start : start + 256]
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""

MEMORY_SIZES = (2_000, 20_000)
CACHED_IMAGE_BYTES = 64 * 64 * 3


def peak_rss_mib(command: list[str], cwd: Path) -> float:
    """The peak resident memory of ``command`` (and its children), from a fresh helper process."""
    import subprocess

    completed = subprocess.run(
        [sys.executable, "-c", PEAK_OF_CHILD, *command], cwd=cwd, capture_output=True, text=True, timeout=900
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    return int(completed.stdout.split()[-1]) / 1024  # ru_maxrss is in KiB on Linux


@pytest.fixture(scope="module")
def picture_folders(tmp_path_factory: pytest.TempPathFactory) -> dict[int, Path]:
    root = tmp_path_factory.mktemp("many")
    return {count: fakedata.write_many_pictures(root / str(count), count) for count in MEMORY_SIZES}


def assert_flat(peaks: dict[int, float], what: str) -> None:
    small, large = (peaks[count] for count in MEMORY_SIZES)
    extra_images_mib = (MEMORY_SIZES[1] - MEMORY_SIZES[0]) * CACHED_IMAGE_BYTES / 2**20
    print(f"\n{what}: peak RSS {small:.0f} MiB with {MEMORY_SIZES[0]} images, {large:.0f} MiB with {MEMORY_SIZES[1]}"
          f" (holding the extra images in memory would add {extra_images_mib:.0f} MiB)")
    assert large <= 1.3 * small, peaks
    assert large - small < 0.25 * extra_images_mib, peaks


@pytest.mark.slow
def test_loading_and_reading_memory_does_not_grow_with_the_number_of_images(
    picture_folders: dict[int, Path], tmp_path: Path
) -> None:
    peaks = {
        count: peak_rss_mib([sys.executable, "-c", LOAD_AND_READ, str(folder), str(tmp_path / f"cache{count}")], tmp_path)
        for count, folder in picture_folders.items()
    }
    assert_flat(peaks, "decoding, caching and reading batches")


@pytest.mark.slow
def test_training_memory_does_not_grow_with_the_number_of_images(picture_folders: dict[int, Path], tmp_path: Path) -> None:
    from conftest import GENLAB

    peaks = {}
    for count, folder in picture_folders.items():
        dataset_args = ["dataset=folder", f"dataset.path={folder}", "dataset.image_size=64", f"dataset.cache_dir={tmp_path / str(count)}"]
        args = tiny_train_args("vae", dataset_args, steps=10)
        peaks[count] = peak_rss_mib([GENLAB, *args, f"hydra.run.dir={tmp_path / f'run{count}'}"], tmp_path)
    assert_flat(peaks, "training (first run: decoding and caching included)")
