"""Tiny data sets in the real official on-disk formats, for tests of every layer.

Images have learnable structure: each class is a bright blob at its own place
(and, in colour, its own hue) plus a little noise, deterministic from ``seed``.
Nothing here is a test; other test modules import it (``import fakedata``).
"""
from __future__ import annotations

import gzip as gzip_module
import io
import tarfile
import zipfile
from pathlib import Path

import numpy as np
from PIL import Image

IDX_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}
CIFAR_FOLDER = "cifar-10-batches-bin"
CIFAR_ARCHIVE = "cifar-10-binary.tar.gz"
CIFAR_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
MARGIN_COLOUR = (0, 255, 0)  # folder images: pure green outside the centre square, gone after the crop


# ----------------------------------------------------------------------------- images


def class_colour(label: int, num_classes: int) -> np.ndarray:
    """Red to blue with the class; green stays low so the folder margins stand out."""
    step = label / max(num_classes - 1, 1)
    return np.array([255 * (1 - step), 30, 255 * step])


def blob(label: int, num_classes: int, size: int) -> np.ndarray:
    """A (size, size) float image in [0, 1]: a Gaussian blob on a circle, one angle per class."""
    angle = 2 * np.pi * label / num_classes
    centre_y = size / 2 + 0.28 * size * np.sin(angle)
    centre_x = size / 2 + 0.28 * size * np.cos(angle)
    y, x = np.mgrid[0:size, 0:size]
    return np.exp(-((y - centre_y) ** 2 + (x - centre_x) ** 2) / (2 * (size / 8) ** 2))


def make_images(
    n: int, size: int = 28, channels: int = 1, num_classes: int = 10, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """``n`` uint8 NHWC images and their uint8 labels (every class about equally often)."""
    rng = np.random.default_rng(seed)
    labels = rng.permutation(np.arange(n) % num_classes).astype(np.uint8)
    images = np.empty((n, size, size, channels), np.uint8)
    for index, label in enumerate(labels):
        shape = blob(int(label), num_classes, size)[..., np.newaxis]
        colour = class_colour(int(label), num_classes) if channels == 3 else np.array([230.0])
        noise = rng.uniform(0, 25, (size, size, channels))
        images[index] = np.clip(shape * colour + noise, 0, 255).astype(np.uint8)
    return images, labels


# ----------------------------------------------------------------------------- IDX


def idx_bytes(array: np.ndarray) -> bytes:
    """A uint8 array in IDX form: 0, 0, type 0x08, ndim, big-endian dims, values."""
    header = bytes([0, 0, 0x08, array.ndim]) + np.array(array.shape, ">u4").tobytes()
    return header + np.ascontiguousarray(array, np.uint8).tobytes()


def write_idx(path: Path, array: np.ndarray, gzip: bool = True) -> Path:
    data = idx_bytes(array)
    path.write_bytes(gzip_module.compress(data, mtime=0) if gzip else data)
    return path


def write_idx_dataset(
    directory: Path, n_train: int = 60, n_test: int = 20, size: int = 28, gzip: bool = True, seed: int = 0
) -> Path:
    """The four official MNIST-layout files (``*.gz``, or uncompressed when ``gzip=False``); returns ``directory``."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    train_images, train_labels = make_images(n_train, size, 1, seed=seed)
    test_images, test_labels = make_images(n_test, size, 1, seed=seed + 1)
    arrays = {
        "train_images": train_images[..., 0],
        "train_labels": train_labels,
        "test_images": test_images[..., 0],
        "test_labels": test_labels,
    }
    suffix = ".gz" if gzip else ""
    for key, stem in IDX_FILES.items():
        write_idx(directory / (stem + suffix), arrays[key], gzip)
    return directory


# ----------------------------------------------------------------------------- CIFAR-10


def cifar10_records(images: np.ndarray, labels: np.ndarray) -> bytes:
    """Official binary records: label byte, then the R, G and B planes (row-major 32x32)."""
    planes = np.ascontiguousarray(images.transpose(0, 3, 1, 2)).reshape(len(images), -1)
    return np.concatenate([labels.reshape(-1, 1).astype(np.uint8), planes], axis=1).tobytes()


def cifar10_files(n_train: int, n_test: int, seed: int) -> dict[str, bytes]:
    """File name -> content of cifar-10-batches-bin/, train records spread over the five batches."""
    train_images, train_labels = make_images(n_train, 32, 3, seed=seed)
    test_images, test_labels = make_images(n_test, 32, 3, seed=seed + 1)
    files = {}
    batches = np.array_split(np.arange(n_train), 5)
    for number, indices in enumerate(batches, start=1):
        files[f"data_batch_{number}.bin"] = cifar10_records(train_images[indices], train_labels[indices])
    files["test_batch.bin"] = cifar10_records(test_images, test_labels)
    files["batches.meta.txt"] = ("\n".join(CIFAR_CLASSES) + "\n\n").encode()
    return files


def write_cifar10_binary(
    directory: Path,
    n_train: int = 50,
    n_test: int = 10,
    as_tar: bool = True,
    seed: int = 0,
    test_batch: bytes | None = None,
) -> Path:
    """``directory/cifar-10-binary.tar.gz`` (as_tar) or ``directory/cifar-10-batches-bin/``; returns that path.

    ``test_batch`` replaces the content of test_batch.bin, for hand-built or broken records.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    files = cifar10_files(n_train, n_test, seed)
    if test_batch is not None:
        files["test_batch.bin"] = test_batch
    if as_tar:
        return _write_tar(directory / CIFAR_ARCHIVE, files)
    folder = directory / CIFAR_FOLDER
    folder.mkdir(exist_ok=True)
    for name, content in files.items():
        (folder / name).write_bytes(content)
    return folder


def _write_tar(archive: Path, files: dict[str, bytes]) -> Path:
    with tarfile.open(archive, "w:gz") as tar:
        folder = tarfile.TarInfo(CIFAR_FOLDER)
        folder.type = tarfile.DIRTYPE
        tar.addfile(folder)
        for name, content in files.items():
            member = tarfile.TarInfo(f"{CIFAR_FOLDER}/{name}")
            member.size = len(content)
            tar.addfile(member, io.BytesIO(content))
    return archive


# ----------------------------------------------------------------------------- image folders

EXTENSIONS = (".png", ".jpg", ".JPG", ".jpeg")  # mixed case: the source must not care


def folder_picture(label: int, num_classes: int, size: int, landscape: bool, seed: int) -> np.ndarray:
    """A non-square RGB picture: class content in the centre square, green margins beside it."""
    content = np.asarray(blob(label, num_classes, size)[..., np.newaxis] * class_colour(label, num_classes))
    content = np.clip(content + np.random.default_rng(seed).uniform(0, 20, content.shape), 0, 255)
    margin = size // 4
    height, width = (size, size + 2 * margin) if landscape else (size + 2 * margin, size)
    picture = np.empty((height, width, 3), np.uint8)
    picture[:] = MARGIN_COLOUR
    top, left = (height - size) // 2, (width - size) // 2
    picture[top : top + size, left : left + size] = content.astype(np.uint8)
    return picture


def write_image_folder(
    directory: Path,
    n: int = 12,
    size: int = 64,
    classes: tuple[str, ...] = ("a", "b"),
    corrupt: int = 0,
    seed: int = 0,
) -> Path:
    """``n`` decodable JPEG/PNG pictures (and ``corrupt`` broken files) under ``directory``; returns it.

    Picture i goes to ``classes[i % len(classes)]`` (or the root when ``classes`` is
    empty), every third one a folder deeper; extensions cycle through EXTENSIONS.
    """
    directory = Path(directory)
    for index in range(n):
        label = index % len(classes) if classes else 0
        folder = directory / classes[label] if classes else directory
        if index % 3 == 2:
            folder = folder / "deeper"
        folder.mkdir(parents=True, exist_ok=True)
        picture = folder_picture(label, max(len(classes), 1), size, index % 2 == 0, seed + index)
        _save(picture, folder / f"img{index:03d}{EXTENSIONS[index % len(EXTENSIONS)]}")
    _write_corrupt(directory / classes[0] if classes else directory, corrupt, seed)
    return directory


def _save(picture: np.ndarray, path: Path) -> None:
    if path.suffix.lower() == ".png":
        Image.fromarray(picture).save(path, format="PNG")
    else:
        Image.fromarray(picture).save(path, format="JPEG", quality=95, subsampling=0)


def _write_corrupt(folder: Path, count: int, seed: int) -> None:
    """Alternately random bytes named .jpg and a PNG cut off half way."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for index in range(count):
        if index % 2 == 0:
            (folder / f"broken{index}.jpg").write_bytes(rng.integers(0, 256, 500, dtype=np.uint8).tobytes())
        else:
            buffer = io.BytesIO()
            Image.fromarray(rng.integers(0, 256, (40, 40, 3), dtype=np.uint8)).save(buffer, format="PNG")
            (folder / f"broken{index}.png").write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 2])


# ----------------------------------------------------------------------------- CelebA

CELEBA_ATTRIBUTES = (
    "5_o_Clock_Shadow", "Arched_Eyebrows", "Attractive", "Bags_Under_Eyes", "Bald", "Bangs", "Big_Lips",
    "Big_Nose", "Black_Hair", "Blond_Hair", "Blurry", "Brown_Hair", "Bushy_Eyebrows", "Chubby", "Double_Chin",
    "Eyeglasses", "Goatee", "Gray_Hair", "Heavy_Makeup", "High_Cheekbones", "Male", "Mouth_Slightly_Open",
    "Mustache", "Narrow_Eyes", "No_Beard", "Oval_Face", "Pale_Skin", "Pointy_Nose", "Receding_Hairline",
    "Rosy_Cheeks", "Sideburns", "Smiling", "Straight_Hair", "Wavy_Hair", "Wearing_Earrings", "Wearing_Hat",
    "Wearing_Lipstick", "Wearing_Necklace", "Wearing_Necktie", "Young",
)
CELEBA_WIDTH, CELEBA_HEIGHT = 178, 218
CELEBA_FOLDER = "img_align_celeba"
CELEBA_ZIP = "img_align_celeba.zip"
CELEBA_ATTRIBUTE_FILE = "list_attr_celeba.txt"
CELEBA_PARTITION_FILE = "list_eval_partition.txt"
# centre rows of the 148x148 crop where the picture shows the attribute (fractions of the crop)
CELEBA_MOUTH = (0.68, 0.80)  # a bright bar when Smiling
CELEBA_EYES = (0.30, 0.42)  # a dark band with Eyeglasses


def celeba_split_codes(n: int) -> np.ndarray:
    """Contiguous splits like the official file: 70% train (0), 10% validation (1), 20% test (2)."""
    codes = np.full(n, 2, np.uint8)
    codes[: int(0.7 * n)] = 0
    codes[int(0.7 * n) : int(0.8 * n)] = 1
    return codes


def celeba_attributes(n: int, seed: int = 0) -> np.ndarray:
    """(n, 40) values of 1 or -1, about half of each; Smiling and Male alternate so both splits have both."""
    rng = np.random.default_rng(seed)
    values = np.where(rng.random((n, len(CELEBA_ATTRIBUTES))) < 0.5, 1, -1)
    values[:, CELEBA_ATTRIBUTES.index("Smiling")] = np.where(np.arange(n) % 2 == 0, 1, -1)
    values[:, CELEBA_ATTRIBUTES.index("Male")] = np.where(np.arange(n) % 4 < 2, 1, -1)
    return values


def celeba_picture(values: np.ndarray, seed: int) -> np.ndarray:
    """A 218x178 RGB picture whose centre square shows a few of its attributes."""
    attribute = dict(zip(CELEBA_ATTRIBUTES, values))
    rng = np.random.default_rng(seed)
    picture = np.empty((CELEBA_HEIGHT, CELEBA_WIDTH, 3), np.float64)
    picture[:] = (40, 90, 40)  # green outside the face: the crop keeps only its middle
    crop = 148
    top, left = (CELEBA_HEIGHT - crop) // 2, (CELEBA_WIDTH - crop) // 2
    y, x = np.mgrid[0:crop, 0:crop] / crop
    face = ((y - 0.5) / 0.45) ** 2 + ((x - 0.5) / 0.35) ** 2 < 1
    skin = np.array((120, 140, 220) if attribute["Male"] == 1 else (230, 170, 140), np.float64)
    square = np.full((crop, crop, 3), 30.0)
    square[face] = skin
    if attribute["Smiling"] == 1:
        square[int(CELEBA_MOUTH[0] * crop) : int(CELEBA_MOUTH[1] * crop), int(0.3 * crop) : int(0.7 * crop)] = 255
    if attribute["Eyeglasses"] == 1:
        square[int(CELEBA_EYES[0] * crop) : int(CELEBA_EYES[1] * crop), int(0.2 * crop) : int(0.8 * crop)] = 0
    if attribute["Blond_Hair"] == 1:
        square[: int(0.15 * crop)] = (240, 220, 80)
    picture[top : top + crop, left : left + crop] = square
    picture += rng.uniform(-8, 8, picture.shape)
    return np.clip(picture, 0, 255).astype(np.uint8)


def _jpeg_bytes(picture: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(picture).save(buffer, format="JPEG", quality=92)
    return buffer.getvalue()


def celeba_corrupt_positions(n: int, corrupt: int) -> list[int]:
    """Which pictures are broken: every fifth training picture from the second on."""
    return [1 + 5 * index for index in range(corrupt) if 1 + 5 * index < int(0.7 * n)]


def write_celeba(directory: Path, n: int = 40, as_zip: bool = False, corrupt: int = 1, seed: int = 0) -> Path:
    """A small CelebA in the official aligned layout under ``directory``; returns ``directory``.

    Pictures 000001.jpg.. (178x218 JPEG) in img_align_celeba/ (or img_align_celeba.zip),
    list_attr_celeba.txt with the 40 real attribute names and list_eval_partition.txt with
    all three splits. ``corrupt`` pictures (see celeba_corrupt_positions) are a truncated
    JPEG and random bytes in turn.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    values = celeba_attributes(n, seed)
    names = [f"{index + 1:06d}.jpg" for index in range(n)]
    files = {name: _jpeg_bytes(celeba_picture(values[index], seed + index)) for index, name in enumerate(names)}
    rng = np.random.default_rng(seed)
    for number, position in enumerate(celeba_corrupt_positions(n, corrupt)):
        data = files[names[position]]
        files[names[position]] = data[: len(data) // 3] if number % 2 == 0 else rng.integers(0, 256, 700, np.uint8).tobytes()
    if as_zip:
        with zipfile.ZipFile(directory / CELEBA_ZIP, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            archive.writestr(CELEBA_FOLDER + "/", b"")
            for name, data in files.items():
                archive.writestr(f"{CELEBA_FOLDER}/{name}", data)
    else:
        folder = directory / CELEBA_FOLDER
        folder.mkdir(exist_ok=True)
        for name, data in files.items():
            (folder / name).write_bytes(data)
    rows = [name + "".join(f" {value:2d}" for value in row) for name, row in zip(names, values)]
    (directory / CELEBA_ATTRIBUTE_FILE).write_text(f"{n}\n{' '.join(CELEBA_ATTRIBUTES)} \n" + "\n".join(rows) + "\n")
    codes = celeba_split_codes(n)
    (directory / CELEBA_PARTITION_FILE).write_text("".join(f"{name} {code}\n" for name, code in zip(names, codes)))
    return directory


# ----------------------------------------------------------------------------- Olivetti


def olivetti_levels(seed: int = 0) -> np.ndarray:
    """400 64x64 uint8 faces, ten per person in order, spanning 0..255 (the loader rescales by min and max)."""
    levels = np.random.default_rng(seed).integers(0, 256, (400, 64, 64)).astype(np.uint8)
    for person in range(40):  # each person's pictures share a blob, so there is something to learn
        levels[person * 10 : person * 10 + 10] //= 2
        levels[person * 10 : person * 10 + 10] += (blob(person, 40, 64) * 127).astype(np.uint8)
    levels[0, 0, 0], levels[0, 0, 1] = 0, 255
    return levels


def olivetti_matrix(levels: np.ndarray) -> np.ndarray:
    """The official file's layout: a 4096x400 'faces' matrix, one column-major 64x64 picture per column."""
    return np.ascontiguousarray(levels.transpose(0, 2, 1).reshape(len(levels), -1).T)


def write_olivetti_home(directory: Path, seed: int = 0) -> Path:
    """A folder holding olivettifaces.mat (MATLAB v5, as the official file) of olivetti_levels(seed); returns it."""
    from scipy.io import savemat

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    savemat(directory / "olivettifaces.mat", {"faces": olivetti_matrix(olivetti_levels(seed))}, format="5")
    return directory


# ----------------------------------------------------------------------------- many small pictures


def write_many_pictures(directory: Path, n: int, size: int = 32, classes: tuple[str, ...] = ("a", "b"), seed: int = 0) -> Path:
    """``n`` small JPEGs spread over class folders, quickly (a few seconds for 20,000); returns ``directory``.

    Each class has its own blob; every picture adds its own noise, so no two are alike.
    """
    directory = Path(directory)
    rng = np.random.default_rng(seed)
    bases = [blob(label, len(classes), size)[..., np.newaxis] * class_colour(label, len(classes)) for label in range(len(classes))]
    noise = rng.integers(0, 24, (64, size, size, 3), dtype=np.uint8)
    for name in classes:
        (directory / name).mkdir(parents=True, exist_ok=True)
    for index in range(n):
        label = index % len(classes)
        picture = np.clip(bases[label], 0, 230).astype(np.uint8) + noise[index % 64]
        picture[index % size, (index // size) % size] = 255  # a pixel of its own
        Image.fromarray(picture).save(directory / classes[label] / f"{index:06d}.jpg", quality=90)
    return directory


# ----------------------------------------------------------------------------- pictures in every mode

PICTURE_MODES = ("L", "RGB", "P", "RGBA", "LA", "I;16", "1", "CMYK")


def write_picture_modes(directory: Path, size: int = 12, level: int = 200) -> Path:
    """One picture per Pillow mode in PICTURE_MODES, all showing a flat grey of ``level`` (0..255)
    wherever that mode can (``1`` is black and white); returns ``directory``.

    The 16-bit one holds ``level * 257``: 8-bit grey scaled to 16 bits, as PNG stores it.
    CMYK goes to JPEG (PNG cannot hold it); everything else to PNG.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    grey = Image.fromarray(np.full((size, size), level, np.uint8))
    for mode in PICTURE_MODES:
        name = mode.replace(";", "_")
        if mode == "I;16":
            Image.fromarray(np.full((size, size), level * 257, np.uint16)).save(directory / f"{name}.png")
        elif mode == "CMYK":
            grey.convert("CMYK").save(directory / f"{name}.jpg", quality=100)
        else:
            grey.convert(mode).save(directory / f"{name}.png")
    return directory
