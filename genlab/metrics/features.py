"""Feature spaces for the Fréchet distance and KID.

- ``domain``: a small conv classifier trained once per data set on its labels (class labels,
  person ids, or the 40 CelebA attributes as a multi-label problem). Its last hidden layer is the
  feature space. It is cached by data set, image shape and a fingerprint of the data, beside the
  data when dataset.path (or dataset.cache_dir) is writable, else under ~/.cache/genlab; its test
  accuracy is stored with it and logged. Works offline.
- ``inception``: InceptionV3's 2048 pool features with ImageNet weights read from a local file:
  ``inception_weights=PATH``, or Keras' own cache (~/.keras/models, or $KERAS_HOME/models).
  Never downloaded: when no file is there the caller says so and goes on without them.

Extractors take images in [0, 1], shape (N, H, W, C), and return float64 features (N, d).
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from genlab.errors import GenlabError
from genlab.files import atomic_path, write_text_atomically

log = logging.getLogger("genlab.evaluate")

CLASSIFIER_VERSION = 1  # bump when the network or its training changes: old caches are then ignored
CLASSIFIER_SEED = 0  # the classifier does not depend on the evaluation's seed: one per data set
FEATURE_UNITS = 128
CLASSIFIER_EPOCHS = 3
CLASSIFIER_MIN_STEPS = 150
CLASSIFIER_MAX_STEPS = 3000
CLASSIFIER_BATCH = 128
FINGERPRINT_IMAGES = 64  # evenly spaced images per split that enter the cache key

INCEPTION_FILES = (
    "inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5",
    "inception_v3_weights_tf_dim_ordering_tf_kernels.h5",
)
INCEPTION_SIZE = 299


@dataclass
class Labels:
    """What the domain classifier learns: one class per image, or several 0/1 attributes."""

    kind: str  # "classes" or "attributes"
    train: np.ndarray
    test: np.ndarray
    outputs: int
    names: list[str]


def dataset_labels(data: Any) -> Labels | None:
    """The labels a data set offers, preferring attributes (CelebA) to class labels; None without any."""
    names = getattr(data, "attribute_names", None)
    train, test = getattr(data, "train_attributes", None), getattr(data, "test_attributes", None)
    if names and train is not None and test is not None:
        return Labels("attributes", np.asarray(train, np.float32), np.asarray(test, np.float32), len(names), list(names))
    if data.train_labels is None or data.test_labels is None:
        return None
    train, test = np.asarray(data.train_labels, np.int64), np.asarray(data.test_labels, np.int64)
    classes = int(max(train.max(initial=0), test.max(initial=0))) + 1
    names = list(data.class_names) if data.class_names else [str(index) for index in range(classes)]
    if classes < 2:
        return None
    return Labels("classes", train, test, max(classes, len(names)), names)


# ----------------------------------------------------------------------------- where the cache lives


def user_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME")
    return (Path(base) if base else Path.home() / ".cache") / "genlab"


def _writable(directory: Path) -> bool:
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=directory):
            pass
        return True
    except OSError:
        return False


def classifier_cache_dir(dataset_config: Any) -> Path:
    """dataset.cache_dir, else beside dataset.path, else ~/.cache/genlab: the first writable one."""
    candidates = []
    if getattr(dataset_config, "cache_dir", None):
        candidates.append(Path(dataset_config.cache_dir).expanduser() / "classifiers")
    if getattr(dataset_config, "path", None):
        path = Path(dataset_config.path).expanduser()
        base = path if path.is_dir() else path.parent
        candidates.append(base / ".genlab-cache" / "classifiers")
    candidates.append(user_cache_dir() / "classifiers")
    for directory in candidates:
        if _writable(directory):
            return directory
    raise GenlabError(f"no writable directory for the domain classifier; tried {', '.join(map(str, candidates))}")


def _spaced(count: int, wanted: int) -> np.ndarray:
    return np.unique(np.linspace(0, count - 1, num=min(count, wanted)).astype(np.int64)) if count else np.zeros(0, np.int64)


def classifier_key(data: Any, labels: Labels) -> str:
    """Data set name, image shape and a fingerprint of the images and labels it was trained on."""
    digest = hashlib.sha256()
    digest.update(json.dumps([CLASSIFIER_VERSION, data.name, labels.kind, labels.outputs, labels.names]).encode())
    for images, targets in ((data.train_images, labels.train), (data.test_images, labels.test)):
        digest.update(str(tuple(images.shape)).encode())
        digest.update(np.ascontiguousarray(targets).tobytes())
        digest.update(np.ascontiguousarray(images[_spaced(len(images), FINGERPRINT_IMAGES)]).tobytes())
    height, width, channels = data.image_shape
    return f"{data.name}-{height}x{width}x{channels}-{digest.hexdigest()[:16]}"


# ----------------------------------------------------------------------------- the domain classifier


def classifier_network(image_shape: tuple[int, int, int], outputs: int) -> Any:
    """Strided convs to a FEATURE_UNITS-wide hidden layer (the features), then the label logits."""
    import keras
    from keras import layers

    images = keras.Input(shape=image_shape, name="images")
    x = images
    widths = [32, 64, 128] + ([128] if min(image_shape[:2]) >= 64 else [])
    for width in widths:
        x = layers.Conv2D(width, 3, strides=2, padding="same", activation="relu")(x)
    x = layers.Flatten()(x)
    features = layers.Dense(FEATURE_UNITS, activation="relu", name="features")(x)
    logits = layers.Dense(outputs, name="logits")(layers.Dropout(0.3)(features))
    return keras.Model(images, [features, logits], name="domain_classifier")


def _unit(images: np.ndarray) -> np.ndarray:
    return np.asarray(images, dtype=np.float32) / 255.0


class DomainClassifier:
    """The trained classifier of one data set, as a feature extractor."""

    name = "domain"

    def __init__(self, network: Any, accuracy: float, feature_scale: float, path: Path, batch_size: int):
        import tensorflow as tf

        self.network = network
        self.accuracy = accuracy
        self.feature_scale = feature_scale
        self.path = path
        self.batch_size = batch_size
        self._call = tf.function(lambda images: network(images, training=False), reduce_retracing=True)

    def outputs(self, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(features, logits) of images in [0, 1]."""
        features, logits = [], []
        for start in range(0, len(images), self.batch_size):
            hidden, out = self._call(np.asarray(images[start : start + self.batch_size], np.float32))
            features.append(np.asarray(hidden, np.float64))
            logits.append(np.asarray(out, np.float64))
        return np.concatenate(features), np.concatenate(logits)

    def features(self, images: np.ndarray) -> np.ndarray:
        """The hidden layer, divided by its root mean square over the test split: values of order 1,
        the scale the KID kernel (x.y / d + 1)^3 is made for, whatever the data set."""
        return self.outputs(images)[0] / self.feature_scale


def _accuracy(logits: np.ndarray, labels: Labels) -> float:
    """Share of test images whose class is right; for attributes, of (image, attribute) pairs."""
    if labels.kind == "attributes":
        return float(np.mean((logits > 0) == (labels.test > 0.5)))
    return float(np.mean(np.argmax(logits, axis=1) == labels.test))


def _train(network: Any, data: Any, labels: Labels) -> int:
    """Adam on shuffled batches (a fixed order), CLASSIFIER_EPOCHS epochs within the step limits."""
    import keras
    import tensorflow as tf

    count = len(data.train_images)
    batch = min(CLASSIFIER_BATCH, count)
    per_epoch = max(1, count // batch)
    steps = int(np.clip(CLASSIFIER_EPOCHS * per_epoch, CLASSIFIER_MIN_STEPS, CLASSIFIER_MAX_STEPS))
    optimizer = keras.optimizers.Adam(1e-3)
    if labels.kind == "attributes":
        loss_of: Callable = lambda targets, logits: tf.reduce_mean(
            tf.nn.sigmoid_cross_entropy_with_logits(labels=targets, logits=logits)
        )
    else:
        loss_of = lambda targets, logits: tf.reduce_mean(
            tf.nn.sparse_softmax_cross_entropy_with_logits(labels=targets, logits=logits)
        )

    @tf.function(reduce_retracing=True)
    def step(images: tf.Tensor, targets: tf.Tensor) -> tf.Tensor:
        with tf.GradientTape() as tape:
            loss = loss_of(targets, network(images, training=True)[1])
        gradients = tape.gradient(loss, network.trainable_variables)
        optimizer.apply_gradients(zip(gradients, network.trainable_variables))
        return loss

    rng = np.random.default_rng(CLASSIFIER_SEED)
    order = np.zeros(0, np.int64)
    for number in range(steps):
        position = (number % per_epoch) * batch
        if position == 0:
            order = rng.permutation(count)
        indices = np.sort(order[position : position + batch])
        loss = step(_unit(data.train_images[indices]), labels.train[indices])
        if (number + 1) % 500 == 0:
            log.info("domain classifier: step %d of %d, loss %.4f", number + 1, steps, float(loss))
    return steps


def domain_classifier(data: Any, dataset_config: Any, batch_size: int) -> DomainClassifier | None:
    """The data set's classifier from the cache, trained and cached first when missing; None without labels."""
    import keras

    labels = dataset_labels(data)
    if labels is None:
        log.warning("domain features: %s has no labels to train a classifier on; skipping them", data.name)
        return None
    directory = classifier_cache_dir(dataset_config)
    key = classifier_key(data, labels)
    weights_path, info_path = directory / f"{key}.weights.h5", directory / f"{key}.json"
    if weights_path.is_file() and info_path.is_file():
        network = classifier_network(data.image_shape, labels.outputs)
        try:
            network.load_weights(weights_path)
            info = json.loads(info_path.read_text())
            accuracy, feature_scale = float(info["test_accuracy"]), float(info["feature_scale"])
            log.info("domain classifier %s: test accuracy %.4f (cached, %s)", key, accuracy, weights_path)
            return DomainClassifier(network, accuracy, feature_scale, weights_path, batch_size)
        except (OSError, ValueError, KeyError) as error:
            log.warning("domain classifier cache %s is unreadable (%s): training it again", weights_path, error)
    keras.utils.set_random_seed(CLASSIFIER_SEED)
    network = classifier_network(data.image_shape, labels.outputs)  # built after seeding: same weights every time
    log.info(
        "domain classifier: training on %d %s images (%s, %d %s); cached once per data set",
        len(data.train_images), data.name, "x".join(map(str, data.image_shape)), labels.outputs, labels.kind,
    )
    steps = _train(network, data, labels)
    classifier = DomainClassifier(network, 0.0, 1.0, weights_path, batch_size)
    features, logits = classifier.outputs(_TestImages(data.test_images))
    classifier.accuracy = _accuracy(logits, labels)
    classifier.feature_scale = float(np.sqrt(np.mean(np.square(features)))) or 1.0
    with atomic_path(weights_path) as temporary:
        network.save_weights(temporary)
    info = {"dataset": data.name, "image_shape": list(data.image_shape), "labels": labels.kind,
            "outputs": labels.outputs, "train_images": len(data.train_images), "steps": steps,
            "test_accuracy": classifier.accuracy, "feature_scale": classifier.feature_scale,
            "version": CLASSIFIER_VERSION}
    write_text_atomically(info_path, json.dumps(info, indent=2) + "\n")
    log.info("domain classifier %s: test accuracy %.4f (trained %d steps, cached at %s)", key, classifier.accuracy, steps, weights_path)
    return classifier


class _TestImages:
    """uint8 images read and scaled to [0, 1] slice by slice, so a large test split stays on disk."""

    def __init__(self, images: Any):
        self.images = images

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, key: slice) -> np.ndarray:
        return _unit(self.images[key])


# ----------------------------------------------------------------------------- InceptionV3


def keras_models_dir() -> Path:
    keras_home = os.environ.get("KERAS_HOME")
    return (Path(keras_home) if keras_home else Path.home() / ".keras") / "models"


def find_inception_weights(explicit: str | None) -> Path | None:
    """``inception_weights`` when given (it must exist), else a file in Keras' cache, else None."""
    if explicit:
        path = Path(explicit).expanduser()
        if not path.is_file():
            raise GenlabError(f"inception_weights={explicit}: no such file ({path.resolve()})")
        return path
    return next((keras_models_dir() / name for name in INCEPTION_FILES if (keras_models_dir() / name).is_file()), None)


def inception_missing_note() -> str:
    return (
        f"inception features: no InceptionV3 ImageNet weights here ({keras_models_dir() / INCEPTION_FILES[0]}); "
        "genlab never downloads them: pass inception_weights=PATH or put the Keras file there"
    )


class InceptionFeatures:
    """InceptionV3's global-average-pool features of images resized to 299x299 (grey as RGB)."""

    name = "inception"

    def __init__(self, weights: Path, batch_size: int):
        import keras
        import tensorflow as tf

        try:
            network = keras.applications.InceptionV3(
                include_top=False, weights=str(weights), pooling="avg", input_shape=(INCEPTION_SIZE, INCEPTION_SIZE, 3)
            )
        except ValueError:  # the file with the classification top: take its pool layer
            full = keras.applications.InceptionV3(include_top=True, weights=str(weights))
            network = keras.Model(full.input, full.get_layer("avg_pool").output)
        self.network = network
        self.path = weights
        self.batch_size = min(batch_size, 64)

        def call(images: tf.Tensor) -> tf.Tensor:
            if images.shape[-1] == 1:
                images = tf.image.grayscale_to_rgb(images)
            resized = tf.image.resize(images, (INCEPTION_SIZE, INCEPTION_SIZE), method="bilinear")
            return network(resized * 2.0 - 1.0, training=False)

        self._call = tf.function(call, reduce_retracing=True)

    def features(self, images: np.ndarray) -> np.ndarray:
        batches = [
            np.asarray(self._call(np.asarray(images[start : start + self.batch_size], np.float32)), np.float64)
            for start in range(0, len(images), self.batch_size)
        ]
        return np.concatenate(batches)
