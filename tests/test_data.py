"""The data layer: file formats, where files are looked for, downloads, transforms.

Every test runs with HOME, the Debian root and the downloader pointed at temporary
places (the ``isolated`` fixture), so nothing touches ~/.keras or the network.
"""
from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import fakedata
import numpy as np
import pytest
from PIL import Image

from genlab.config.schema import DatasetConfig
from genlab.data.base import ImageSet
from genlab.data import cache, cifar10, fashion_mnist, folder, idx, load_dataset, locate, mnist
from genlab.data.records import ImageRecords
from genlab.data.transform import convert_channels, fit_to_config, pad_or_crop, resize
from genlab.errors import ConfigError, DataError

REAL_FASHION = Path("/usr/share/datasets/fashion-mnist")


@dataclasses.dataclass
class Places:
    home: Path
    debian: Path
    keras: Path
    fetched: list[str]


def no_network(url: str, destination: Path) -> None:
    raise AssertionError(f"a test tried to download {url}")


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Places:
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("KERAS_HOME", raising=False)
    monkeypatch.setattr(locate, "DEBIAN_ROOT", tmp_path / "debian")
    monkeypatch.setattr(locate, "fetch_url", no_network)
    return Places(home, tmp_path / "debian", home / ".keras" / "datasets", [])


def dataset(name: str, **overrides) -> DatasetConfig:
    return DatasetConfig(name=name, **overrides)


# ----------------------------------------------------------------------------- IDX


@pytest.mark.parametrize("compress", [True, False])
def test_idx_round_trip_keeps_exact_values_and_labels(tmp_path: Path, compress: bool) -> None:
    fakedata.write_idx_dataset(tmp_path, n_train=30, n_test=7, gzip=compress, seed=3)
    expected_train, expected_labels = fakedata.make_images(30, 28, 1, seed=3)
    expected_test, expected_test_labels = fakedata.make_images(7, 28, 1, seed=4)

    images = load_dataset(dataset("fashion_mnist", path=str(tmp_path)))

    np.testing.assert_array_equal(images.train_images, expected_train)
    np.testing.assert_array_equal(images.train_labels, expected_labels)
    np.testing.assert_array_equal(images.test_images, expected_test)
    np.testing.assert_array_equal(images.test_labels, expected_test_labels)
    assert images.class_names[0] == "T-shirt/top" and images.class_names[9] == "Ankle boot"
    assert images.train_images.flags.writeable


def test_fake_classes_are_distinguishable() -> None:
    images, labels = fakedata.make_images(200, seed=0)
    means = np.stack([images[labels == k].mean(axis=0) for k in range(10)]).reshape(10, -1)
    distances = np.linalg.norm(means[:, None] - means[None], axis=-1)
    assert distances[~np.eye(10, dtype=bool)].min() > 200


def test_idx_bad_magic_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "x-idx3-ubyte"
    path.write_bytes(b"\x01\x02\x08\x03" + bytes(100))
    with pytest.raises(DataError, match="x-idx3-ubyte.*magic"):
        idx.read_images(path)


def test_idx_wrong_dimension_count_is_refused(tmp_path: Path) -> None:
    path = fakedata.write_idx(tmp_path / "labels.gz", np.zeros(5, np.uint8))
    with pytest.raises(DataError, match="labels.gz.*3-d"):
        idx.read_images(path)


def test_truncated_idx_data_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "train-images-idx3-ubyte"
    path.write_bytes(fakedata.idx_bytes(np.zeros((4, 28, 28), np.uint8))[:-10])
    with pytest.raises(DataError, match="train-images-idx3-ubyte.*truncated"):
        idx.read_images(path)


def test_truncated_gzip_names_the_file(tmp_path: Path) -> None:
    fakedata.write_idx_dataset(tmp_path)
    path = tmp_path / "train-images-idx3-ubyte.gz"
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(DataError, match="train-images-idx3-ubyte.gz"):
        load_dataset(dataset("fashion_mnist", path=str(tmp_path)))


def test_label_count_mismatch_is_an_error(tmp_path: Path) -> None:
    fakedata.write_idx_dataset(tmp_path, n_train=10)
    fakedata.write_idx(tmp_path / "train-labels-idx1-ubyte.gz", np.zeros(9, np.uint8))
    with pytest.raises(DataError, match="10 images.*9 labels"):
        load_dataset(dataset("mnist", path=str(tmp_path)))


# ----------------------------------------------------------------------------- where files are found


def test_configured_path_is_the_only_place_looked(isolated: Places, tmp_path: Path) -> None:
    fakedata.write_idx_dataset(isolated.debian / "fashion-mnist")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DataError) as error:
        load_dataset(dataset("fashion_mnist", path=str(empty)))
    message = str(error.value)
    assert str(empty) in message and "train-images-idx3-ubyte.gz" in message
    assert "debian" not in message


def test_debian_location_is_used(isolated: Places) -> None:
    fakedata.write_idx_dataset(isolated.debian / "fashion-mnist", n_train=12)
    images = load_dataset(dataset("fashion_mnist"))
    assert images.num_train == 12
    assert str(isolated.debian / "fashion-mnist") in images.notes[0]


@pytest.mark.parametrize("subdir", ["fashion-mnist", "fashion_mnist"])
def test_keras_cache_is_used(isolated: Places, subdir: str) -> None:
    fakedata.write_idx_dataset(isolated.keras / subdir, n_train=13)
    assert load_dataset(dataset("fashion_mnist")).num_train == 13


def test_debian_comes_before_keras_cache(isolated: Places) -> None:
    fakedata.write_idx_dataset(isolated.debian / "fashion-mnist", n_train=11)
    fakedata.write_idx_dataset(isolated.keras / "fashion-mnist", n_train=22)
    assert load_dataset(dataset("fashion_mnist")).num_train == 11


def serve(monkeypatch: pytest.MonkeyPatch, source_dir: Path, fetched: list[str]) -> None:
    """Answer downloads from ``source_dir`` instead of the network, recording each URL."""

    def fake_fetch(url: str, destination: Path) -> None:
        fetched.append(url)
        destination.write_bytes((source_dir / url.rsplit("/", 1)[-1]).read_bytes())

    monkeypatch.setattr(locate, "fetch_url", fake_fetch)


def with_checksums(monkeypatch: pytest.MonkeyPatch, source_dir: Path, algorithm: str = "md5") -> None:
    sums = {path.name: locate.file_digest(path, algorithm) for path in source_dir.iterdir()}
    remote = dataclasses.replace(fashion_mnist.SOURCE.remote, checksums=sums)
    monkeypatch.setattr(fashion_mnist, "SOURCE", dataclasses.replace(fashion_mnist.SOURCE, remote=remote))


@pytest.mark.parametrize("algorithm", ["md5", "sha256"])
def test_download_verifies_checksum_and_lands_in_keras_cache(
    isolated: Places, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, algorithm: str
) -> None:
    server = fakedata.write_idx_dataset(tmp_path / "server", n_train=14)
    serve(monkeypatch, server, isolated.fetched)
    with_checksums(monkeypatch, server, algorithm)

    images = load_dataset(dataset("fashion_mnist"))

    assert images.num_train == 14
    assert len(isolated.fetched) == 4
    assert all(url.startswith(fashion_mnist.SOURCE.remote.base_urls[0]) for url in isolated.fetched)
    target = isolated.keras / "fashion_mnist"
    assert sorted(path.name for path in target.iterdir()) == sorted(idx.FILENAMES)
    assert load_dataset(dataset("fashion_mnist")).num_train == 14 and len(isolated.fetched) == 4


def test_official_checksums_are_wellformed() -> None:
    for source in (fashion_mnist.SOURCE, mnist.SOURCE):
        assert sorted(source.remote.checksums) == sorted(idx.FILENAMES)
        assert all(len(value) == 32 and int(value, 16) >= 0 for value in source.remote.checksums.values())
    assert cifar10.REMOTE.checksums[cifar10.ARCHIVE] == "c32a1d4ab5d03f1284b67883e8d87530"


def test_checksum_mismatch_is_an_error_and_leaves_nothing(
    isolated: Places, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = fakedata.write_idx_dataset(tmp_path / "server")
    serve(monkeypatch, server, isolated.fetched)  # the official sums cannot match fake files

    with pytest.raises(DataError, match="checksum mismatch") as error:
        load_dataset(dataset("fashion_mnist"))

    assert "apt-get install dataset-fashion-mnist" in str(error.value)
    assert len(isolated.fetched) == len(fashion_mnist.SOURCE.remote.base_urls)  # every mirror tried once
    assert list((isolated.keras / "fashion_mnist").iterdir()) == []


def test_nothing_found_lists_every_place_and_the_apt_hint(isolated: Places) -> None:
    with pytest.raises(DataError) as error:
        load_dataset(dataset("fashion_mnist", download=False))
    message = str(error.value)
    for place in (isolated.debian / "fashion-mnist", isolated.keras / "fashion_mnist", isolated.keras / "fashion-mnist"):
        assert str(place) in message
    assert "apt-get install dataset-fashion-mnist" in message
    assert "dataset.download=false" in message


def test_failed_download_says_why(isolated: Places, monkeypatch: pytest.MonkeyPatch) -> None:
    def unreachable(url: str, destination: Path) -> None:
        raise OSError("network is unreachable")

    monkeypatch.setattr(locate, "fetch_url", unreachable)
    with pytest.raises(DataError, match="network is unreachable") as error:
        load_dataset(dataset("mnist"))
    assert "yann.lecun.com/exdb/mnist" in str(error.value)
    assert list((isolated.keras / "mnist").glob("*")) == []


# ----------------------------------------------------------------------------- CIFAR-10


def test_cifar10_archive_and_folder_give_identical_arrays(tmp_path: Path) -> None:
    archive = fakedata.write_cifar10_binary(tmp_path / "tar", n_train=23, n_test=6, as_tar=True)
    folder_path = fakedata.write_cifar10_binary(tmp_path / "dir", n_train=23, n_test=6, as_tar=False)

    from_archive = load_dataset(dataset("cifar10", path=str(archive)))
    from_folder = load_dataset(dataset("cifar10", path=str(folder_path)))

    expected, labels = fakedata.make_images(23, 32, 3, seed=0)
    for images in (from_archive, from_folder):
        np.testing.assert_array_equal(images.train_images, expected)
        np.testing.assert_array_equal(images.train_labels, labels)
    np.testing.assert_array_equal(from_archive.test_images, from_folder.test_images)
    assert from_archive.class_names == list(fakedata.CIFAR_CLASSES)


def known_planes_record() -> tuple[bytes, np.ndarray]:
    """One hand-built record (label 7): R counts up, G counts down, B depends on the row only."""
    red = np.arange(1024, dtype=np.uint32).reshape(32, 32) % 256
    green = 255 - red
    blue = np.repeat(np.arange(32, dtype=np.uint32)[:, None], 32, axis=1) * 8
    record = bytes([7]) + red.astype(np.uint8).tobytes() + green.astype(np.uint8).tobytes() + blue.astype(np.uint8).tobytes()
    return record, np.stack([red, green, blue], axis=-1).astype(np.uint8)


@pytest.mark.parametrize("as_tar", [True, False])
def test_cifar10_pixel_layout_is_hwc_rgb(tmp_path: Path, as_tar: bool) -> None:
    record, expected = known_planes_record()
    path = fakedata.write_cifar10_binary(tmp_path, as_tar=as_tar, test_batch=record)
    images = load_dataset(dataset("cifar10", path=str(path)))
    assert images.test_images.shape == (1, 32, 32, 3)
    np.testing.assert_array_equal(images.test_images[0], expected)
    assert images.test_images[0, 0, 1, 0] == 1 and images.test_images[0, 1, 0, 0] == 32  # row-major
    assert images.test_labels.tolist() == [7]


@pytest.mark.parametrize("as_tar", [True, False])
def test_cifar10_bad_record_size_names_the_file(tmp_path: Path, as_tar: bool) -> None:
    record, _ = known_planes_record()
    path = fakedata.write_cifar10_binary(tmp_path, as_tar=as_tar, test_batch=record[:-1])
    with pytest.raises(DataError, match="test_batch.bin.*3073"):
        load_dataset(dataset("cifar10", path=str(path)))


@pytest.mark.parametrize("layout", ["folder holding the archive", "folder holding the batches", "batches folder"])
def test_cifar10_path_may_name_a_folder(tmp_path: Path, layout: str) -> None:
    written = fakedata.write_cifar10_binary(tmp_path, n_train=10, as_tar=layout == "folder holding the archive")
    path = tmp_path
    if layout == "batches folder":
        path = written.rename(tmp_path / "renamed")  # holds data_batch_1.bin itself
    assert load_dataset(dataset("cifar10", path=str(path))).num_train == 10


def test_cifar10_in_keras_cache(isolated: Places) -> None:
    fakedata.write_cifar10_binary(isolated.keras, n_train=10)
    assert load_dataset(dataset("cifar10")).num_train == 10


def test_cifar10_archive_without_batches_is_refused(tmp_path: Path) -> None:
    import tarfile

    archive = tmp_path / "cifar-10-binary.tar.gz"
    with tarfile.open(archive, "w:gz"):
        pass
    with pytest.raises(DataError, match="data_batch_1.bin.*binary version"):
        load_dataset(dataset("cifar10", path=str(archive)))


def test_cifar10_nothing_found(isolated: Places) -> None:
    with pytest.raises(DataError) as error:
        load_dataset(dataset("cifar10", download=False))
    assert str(isolated.keras) in str(error.value)
    assert "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz" in str(error.value)


def test_cifar10_download_is_checked(isolated: Places, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    server = fakedata.write_cifar10_binary(tmp_path / "server", n_train=10).parent
    serve(monkeypatch, server, isolated.fetched)
    with pytest.raises(DataError, match="checksum mismatch"):
        load_dataset(dataset("cifar10"))
    assert isolated.fetched == ["https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz"]
    digest = locate.file_digest(server / cifar10.ARCHIVE, "md5")
    monkeypatch.setattr(cifar10, "REMOTE", dataclasses.replace(cifar10.REMOTE, checksums={cifar10.ARCHIVE: digest}))
    assert load_dataset(dataset("cifar10")).num_train == 10


# ----------------------------------------------------------------------------- image folders


def test_folder_recurses_crops_resizes_and_labels(tmp_path: Path) -> None:
    root = fakedata.write_image_folder(tmp_path / "pics", n=12, size=64, classes=("cats", "dogs"))
    images = load_dataset(dataset("folder", path=str(root), image_size=32))

    assert images.num_train + len(images.test_images) == 12  # including the ones a folder deeper
    assert images.image_shape == (32, 32, 3)
    assert images.class_names == ["cats", "dogs"]
    labels = np.concatenate([images.train_labels, images.test_labels])
    assert sorted(labels.tolist()) == [0] * 6 + [1] * 6
    all_images = np.concatenate([images.train_images, images.test_images])
    assert all_images[..., 1].mean() < 60  # the green margins were cropped away


def test_folder_without_class_dirs_has_no_labels(tmp_path: Path) -> None:
    root = fakedata.write_image_folder(tmp_path, n=5, classes=())
    images = load_dataset(dataset("folder", path=str(root), image_size=16, channels=1))
    assert images.train_labels is None and images.class_names is None
    assert images.image_shape == (16, 16, 1)


def test_folder_leaves_out_hidden_files_and_unclassed_images(tmp_path: Path) -> None:
    root = fakedata.write_image_folder(tmp_path, n=4, classes=("a", "b"))
    fakedata.write_image_folder(root / ".thumbnails", n=2, classes=())
    (root / "a" / "._img000.png").write_bytes(b"AppleDouble junk")
    Image.new("RGB", (8, 8)).save(root / "loose.png")  # beside the class folders: no class
    images = load_dataset(dataset("folder", path=str(root), image_size=8))
    assert images.class_names == ["a", "b"]
    assert images.num_train + len(images.test_images) == 4
    assert any("left out 1 image" in note for note in images.notes)
    assert not any("skipped" in note for note in images.notes)


def test_folder_split_is_deterministic_with_a_test_image(tmp_path: Path) -> None:
    root = fakedata.write_image_folder(tmp_path, n=2, classes=())
    first = load_dataset(dataset("folder", path=str(root), image_size=8))
    second = load_dataset(dataset("folder", path=str(root), image_size=8))
    assert (first.num_train, len(first.test_images)) == (1, 1)
    np.testing.assert_array_equal(first.test_images, second.test_images)


def test_folder_split_follows_test_fraction(tmp_path: Path) -> None:
    paths = [Path(f"c/{index}.jpg") for index in range(2000)]
    assert 0.2 < folder.split_mask(paths, 0.25).mean() < 0.3


def test_folder_skips_and_counts_corrupt_images(tmp_path: Path) -> None:
    root = fakedata.write_image_folder(tmp_path, n=6, corrupt=3)
    images = load_dataset(dataset("folder", path=str(root), image_size=16))
    assert images.num_train + len(images.test_images) == 6
    assert any("skipped 3 unreadable" in note for note in images.notes)


def test_folder_with_only_corrupt_images_is_an_error(tmp_path: Path) -> None:
    root = fakedata.write_image_folder(tmp_path, n=0, corrupt=2)
    with pytest.raises(DataError, match="none of the 2 images"):
        load_dataset(dataset("folder", path=str(root), image_size=16))


def test_folder_empty_missing_or_file_path_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("no images")
    with pytest.raises(DataError, match=f"no .* images under {tmp_path}"):
        load_dataset(dataset("folder", path=str(tmp_path), image_size=16))
    with pytest.raises(DataError, match="nowhere does not exist"):
        load_dataset(dataset("folder", path=str(tmp_path / "nowhere"), image_size=16))
    with pytest.raises(DataError, match="notes.txt is not a directory"):
        load_dataset(dataset("folder", path=str(tmp_path / "notes.txt"), image_size=16))


def test_folder_without_path_says_to_set_it() -> None:
    with pytest.raises(DataError, match="dataset.path=DIR"):
        load_dataset(dataset("folder", image_size=16))


def test_folder_needs_image_size(tmp_path: Path) -> None:
    root = fakedata.write_image_folder(tmp_path, n=2)
    with pytest.raises(ConfigError, match="dataset.image_size"):
        load_dataset(dataset("folder", path=str(root)))


def test_folder_lays_transparent_pixels_on_black(tmp_path: Path) -> None:
    rgba = np.zeros((10, 10, 4), np.uint8)
    rgba[..., :3] = 255  # white, but fully transparent
    Image.fromarray(rgba).save(tmp_path / "clear.png")
    Image.fromarray(rgba).save(tmp_path / "clear2.png")
    images = load_dataset(dataset("folder", path=str(tmp_path), image_size=8))
    assert np.asarray(images.train_images).max() == 0


@pytest.mark.parametrize("channels", [None, 1, 3])
def test_folder_converts_every_picture_mode(tmp_path: Path, channels: int | None) -> None:
    """Grey, RGB, palette, alpha, 16-bit grey and CMYK pictures in one folder: all the same grey."""
    root = fakedata.write_picture_modes(tmp_path / "modes", size=12, level=200)
    images = load_dataset(dataset("folder", path=str(root), image_size=8, channels=channels))
    pixels = np.concatenate([np.asarray(images.train_images), np.asarray(images.test_images)])
    assert len(pixels) == len(fakedata.PICTURE_MODES)
    assert pixels.shape[1:] == (8, 8, channels or 3)
    means = pixels.reshape(len(pixels), -1).mean(axis=1)
    assert np.all(np.abs(means - 200) <= 10), means  # 16-bit grey is scaled, not clipped to white


def test_folder_scales_pictures_smaller_than_image_size_up(tmp_path: Path) -> None:
    root = fakedata.write_image_folder(tmp_path / "small", n=4, size=8, classes=())
    images = load_dataset(dataset("folder", path=str(root), image_size=32))
    assert images.image_shape == (32, 32, 3)
    assert np.asarray(images.train_images).std() > 0


def test_folder_of_one_picture_has_no_test_split(tmp_path: Path) -> None:
    root = fakedata.write_image_folder(tmp_path / "one", n=1, classes=())
    with pytest.raises(DataError, match="folder: the test split holds no images"):
        load_dataset(dataset("folder", path=str(root), image_size=16))


def test_empty_splits_are_refused(tmp_path: Path) -> None:
    root = fakedata.write_idx_dataset(tmp_path / "idx", n_train=8, n_test=4)
    fakedata.write_idx(root / "t10k-images-idx3-ubyte.gz", np.zeros((0, 28, 28), np.uint8))
    fakedata.write_idx(root / "t10k-labels-idx1-ubyte.gz", np.zeros((0,), np.uint8))
    with pytest.raises(DataError, match=f"mnist: the test split holds no images \\(mnist: reading {root}\\)"):
        load_dataset(dataset("mnist", path=str(root)))
    cifar = fakedata.write_cifar10_binary(tmp_path / "cifar", as_tar=False, test_batch=b"")
    with pytest.raises(DataError, match="cifar10: the test split holds no images"):
        load_dataset(dataset("cifar10", path=str(cifar)))


def test_idx_path_that_is_missing_or_a_file_says_so(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("x")
    with pytest.raises(DataError, match="dataset.path=.*nowhere does not exist"):
        load_dataset(dataset("fashion_mnist", path=str(tmp_path / "nowhere")))
    with pytest.raises(DataError, match="dataset.path=.*a-file is a file; it should be the folder holding"):
        load_dataset(dataset("mnist", path=str(tmp_path / "a-file")))


def test_folder_streams_from_a_cache_built_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = fakedata.write_image_folder(tmp_path / "pics", n=12, classes=("a", "b"))
    first = load_dataset(dataset("folder", path=str(root), image_size=16))
    assert isinstance(first.train_images, ImageRecords) and isinstance(first.test_images, ImageRecords)
    assert sorted(path.suffix for path in (root / ".genlab-cache").iterdir()) == [".json", ".json", ".u8", ".u8"]

    def no_decoding(*args, **kwargs):
        raise AssertionError("decoded again")

    monkeypatch.setattr(cache, "decode_picture", no_decoding)
    second = load_dataset(dataset("folder", path=str(root), image_size=16))  # the cache folder is not listed
    assert second.num_train + len(second.test_images) == 12
    np.testing.assert_array_equal(np.asarray(second.train_images), np.asarray(first.train_images))
    np.testing.assert_array_equal(second.train_labels, first.train_labels)


def test_folder_on_bad_image_fail_names_the_file(tmp_path: Path) -> None:
    root = fakedata.write_image_folder(tmp_path, n=4, corrupt=1)
    with pytest.raises(DataError, match=r"cannot decode .*broken0\.jpg .*on_bad_image=fail"):
        load_dataset(dataset("folder", path=str(root), image_size=16, on_bad_image="fail"))


def test_folder_crop_keeps_only_the_centre(tmp_path: Path) -> None:
    root = fakedata.write_image_folder(tmp_path, n=4, size=64, classes=())
    whole = np.asarray(load_dataset(dataset("folder", path=str(root), image_size=16)).train_images)
    centre = np.asarray(load_dataset(dataset("folder", path=str(root), image_size=16, crop=32)).train_images)
    # the blob sits off-centre: cropping the middle half keeps less of it, and scales it up
    assert not np.array_equal(whole, centre)
    assert whole[..., 1].mean() < 60 and centre[..., 1].mean() < 60


def test_folder_max_examples_keeps_records_on_disk(tmp_path: Path) -> None:
    root = fakedata.write_image_folder(tmp_path, n=12, classes=("a", "b"))
    images = load_dataset(dataset("folder", path=str(root), image_size=8, max_examples=3))
    assert isinstance(images.train_images, ImageRecords)
    assert images.num_train == 3 and len(images.train_labels) == 3


# ----------------------------------------------------------------------------- transforms


def image_set(images: np.ndarray, labels: np.ndarray | None = None) -> ImageSet:
    return ImageSet("fake", images, images[:2], labels, None if labels is None else labels[:2])


def test_pad_28_to_32_keeps_content_centred() -> None:
    images, _ = fakedata.make_images(3, 28)
    padded = pad_or_crop(images, 32)
    assert padded.shape == (3, 32, 32, 1)
    np.testing.assert_array_equal(padded[:, 2:30, 2:30], images)
    assert padded[:, :2].max() == 0 and padded[:, 30:].max() == 0
    assert padded[:, :, :2].max() == 0 and padded[:, :, 30:].max() == 0


def test_pad_to_smaller_crops_the_centre() -> None:
    images, _ = fakedata.make_images(2, 28)
    np.testing.assert_array_equal(pad_or_crop(images, 20), images[:, 4:24, 4:24])


def test_resize_scales_and_keeps_structure() -> None:
    images, _ = fakedata.make_images(4, 32, 3)
    smaller = resize(images, 16)
    assert smaller.shape == (4, 16, 16, 3) and smaller.dtype == np.uint8
    box_average = images.reshape(4, 16, 2, 16, 2, 3).mean(axis=(2, 4))
    assert np.abs(smaller - box_average).mean() < 6
    assert resize(images[..., :1], 40).shape == (4, 40, 40, 1)


def test_channels_1_to_3_and_3_to_1() -> None:
    grey, _ = fakedata.make_images(2, 8, 1)
    rgb = convert_channels(grey, 3)
    assert rgb.shape == (2, 8, 8, 3)
    np.testing.assert_array_equal(rgb[..., 2], grey[..., 0])
    np.testing.assert_array_equal(convert_channels(rgb, 1), grey)  # equal channels: luma is the value
    colour, _ = fakedata.make_images(2, 8, 3)
    pillow = np.stack([np.asarray(Image.fromarray(image).convert("L")) for image in colour])
    assert np.abs(convert_channels(colour, 1)[..., 0].astype(int) - pillow).max() <= 1


def test_fit_to_config_applies_max_examples_channels_and_size() -> None:
    images, labels = fakedata.make_images(10, 28)
    config = dataset("mnist", max_examples=4, channels=3, image_size=32, resize="resize")
    fitted = fit_to_config(image_set(images, labels), config)
    assert fitted.train_images.shape == (4, 32, 32, 3)
    assert fitted.test_images.shape == (2, 32, 32, 3)
    np.testing.assert_array_equal(fitted.train_labels, labels[:4])


def test_load_dataset_pads_and_leaves_uint8(tmp_path: Path) -> None:
    fakedata.write_idx_dataset(tmp_path, n_train=5, n_test=3)
    images = load_dataset(dataset("mnist", path=str(tmp_path), image_size=32, binarize=True))
    assert images.image_shape == (32, 32, 1) and images.train_images.dtype == np.uint8
    assert images.train_images.max() > 1  # binarizing is the trainer's job
    assert images.class_names == [str(digit) for digit in range(10)]


def test_unknown_source_is_refused_without_importing_it() -> None:
    with pytest.raises(ConfigError, match="dataset.name"):
        load_dataset(dataset("os"))
    with pytest.raises(ConfigError):
        load_dataset(dataset("transform"))


def test_data_package_does_not_import_tensorflow() -> None:
    code = (
        "import sys, genlab.data, genlab.data.cifar10, genlab.data.folder, genlab.data.mnist, "
        "genlab.data.fashion_mnist, genlab.data.celeba, genlab.data.olivetti, genlab.data.records; "
        "assert 'tensorflow' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# ----------------------------------------------------------------------------- the real thing


@pytest.mark.skipif(not (REAL_FASHION / "train-images-idx3-ubyte.gz").is_file(), reason="dataset-fashion-mnist not installed")
def test_real_fashion_mnist_from_debian() -> None:
    images = load_dataset(dataset("fashion_mnist", path=str(REAL_FASHION)))
    assert images.train_images.shape == (60000, 28, 28, 1)
    assert images.test_images.shape == (10000, 28, 28, 1)
    assert images.train_images.dtype == np.uint8
    for labels in (images.train_labels, images.test_labels):
        assert labels.min() == 0 and labels.max() == 9
    assert np.bincount(images.train_labels).tolist() == [6000] * 10
