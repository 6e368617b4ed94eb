"""Fashion-MNIST: Zalando's 28x28 grayscale clothing images in the official IDX files."""
from __future__ import annotations

from genlab.config.schema import DatasetConfig
from genlab.data.base import ImageSet
from genlab.data.idx import IdxSource, load_idx_dataset
from genlab.data.locate import Remote

# md5 sums of the official files, as published by Zalando and listed by torchvision.
SOURCE = IdxSource(
    name="fashion_mnist",
    # label order of the official README (7 is Sneaker, 8 is Bag)
    class_names=("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                 "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"),
    remote=Remote(
        base_urls=(
            "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
            "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
        ),
        checksums={
            "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
            "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
            "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
            "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
        },
    ),
    how_to_get="apt-get install dataset-fashion-mnist (Debian/Ubuntu), or download the four "
    ".gz files from https://github.com/zalandoresearch/fashion-mnist",
)


def load(config: DatasetConfig) -> ImageSet:
    return load_idx_dataset(SOURCE, config)
