"""MNIST: LeCun's 28x28 grayscale handwritten digits in the official IDX files."""
from __future__ import annotations

from genlab.config.schema import DatasetConfig
from genlab.data.base import ImageSet
from genlab.data.idx import IdxSource, load_idx_dataset
from genlab.data.locate import Remote

# md5 sums of the official files, as listed by torchvision; yann.lecun.com often
# refuses downloads now, so the PyTorch mirror of the same files comes first.
SOURCE = IdxSource(
    name="mnist",
    class_names=tuple(str(digit) for digit in range(10)),
    remote=Remote(
        base_urls=(
            "https://ossci-datasets.s3.amazonaws.com/mnist/",
            "http://yann.lecun.com/exdb/mnist/",
        ),
        checksums={
            "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
            "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
            "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
            "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
        },
    ),
    how_to_get="download the four .gz files from http://yann.lecun.com/exdb/mnist/ "
    "(mirror: https://ossci-datasets.s3.amazonaws.com/mnist/)",
)


def load(config: DatasetConfig) -> ImageSet:
    return load_idx_dataset(SOURCE, config)
