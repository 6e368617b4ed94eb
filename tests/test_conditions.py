"""The parts of conditional models on their own: condition vectors from a data set, the rows a picture
shows, the projection discriminator, and micro-batches that split images and conditions alike."""
from __future__ import annotations

import numpy as np
import pytest

from genlab.config.schema import ConditionConfig
from genlab.data.base import ImageSet
from genlab.data.conditions import condition_table, dataset_condition_names
from genlab.errors import ConfigError, GenlabError
from genlab.render.conditions import chosen_rows, rows_of_samples


def image_set(labels: bool = True, attributes: bool = False) -> ImageSet:
    images = np.zeros((6, 4, 4, 1), np.uint8)
    return ImageSet(
        name="toy",
        train_images=images,
        test_images=images[:3],
        train_labels=np.array([0, 1, 2, 0, 1, 2]) if labels else None,
        test_labels=np.array([2, 1, 0]) if labels else None,
        class_names=["cat", "dog", "fox"] if labels else None,
        attribute_names=["Smiling", "Male", "Young"] if attributes else None,
        train_attributes=np.eye(3, dtype=np.uint8)[[0, 1, 2, 0, 1, 2]] if attributes else None,
        test_attributes=np.array([[1, 1, 0], [0, 0, 1], [1, 0, 1]], np.uint8) if attributes else None,
    )


def test_class_conditions_are_one_hot_rows_of_the_labels() -> None:
    data = image_set()
    condition = ConditionConfig(by="class")
    assert dataset_condition_names(condition, data) == ["cat", "dog", "fox"]
    np.testing.assert_array_equal(condition_table(condition, data, "test"), np.eye(3, dtype=np.float32)[[2, 1, 0]])
    assert condition_table(ConditionConfig(), data, "train") is None


def test_attribute_conditions_keep_the_chosen_columns_in_the_chosen_order() -> None:
    data = image_set(labels=False, attributes=True)
    condition = ConditionConfig(by="attributes", attributes=["Young", "Smiling"])
    assert dataset_condition_names(condition, data) == ["Young", "Smiling"]
    np.testing.assert_array_equal(condition_table(condition, data, "test"), [[0, 1], [1, 0], [1, 1]])
    every = condition_table(ConditionConfig(by="attributes"), data, "test")
    np.testing.assert_array_equal(every, data.test_attributes.astype(np.float32))


@pytest.mark.parametrize(
    ("condition", "data", "message"),
    [
        (ConditionConfig(by="class"), image_set(labels=False, attributes=True), "toy has no class labels"),
        (ConditionConfig(by="attributes"), image_set(), "toy has no attributes"),
        (ConditionConfig(by="attributes", attributes=["Smiles"]), image_set(attributes=True), "Smiles not among"),
        (ConditionConfig(by="attributes", attributes=["Male", "Male"]), image_set(attributes=True), "twice"),
    ],
)
def test_conditions_the_data_set_cannot_give_are_refused(condition, data, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        dataset_condition_names(condition, data)


def test_rows_are_every_class_by_default_or_the_ones_chosen_by_name_or_index() -> None:
    names = ["cat", "dog", "fox"]
    every = chosen_rows("class", names, None, None)
    np.testing.assert_array_equal(every.vectors, np.eye(3))
    assert every.labels == names
    chosen = chosen_rows("class", names, ["fox", "0"], None)
    np.testing.assert_array_equal(chosen.vectors, [[0, 0, 1], [1, 0, 0]])
    assert chosen.labels == ["fox", "cat"]
    with pytest.raises(GenlabError, match="'cow' is not one of cat, dog, fox"):
        chosen_rows("class", names, ["cow"], None)
    with pytest.raises(GenlabError, match="use classes="):
        chosen_rows("class", names, None, ["Smiling"])


def test_attribute_rows_switch_on_the_attributes_named_and_nothing_else() -> None:
    names = ["Smiling", "Male"]
    default = chosen_rows("attributes", names, None, None)
    np.testing.assert_array_equal(default.vectors, [[0, 0], [1, 0], [0, 1]])
    assert default.labels == ["none", "Smiling", "Male"]
    chosen = chosen_rows("attributes", names, None, ["Male+Smiling", "none"])
    np.testing.assert_array_equal(chosen.vectors, [[1, 1], [0, 0]])
    assert chosen.labels == ["Smiling+Male", "none"]


def test_rows_of_samples_draw_the_same_noise_under_each_condition() -> None:
    rows = chosen_rows("class", ["a", "b"], None, None)
    seen = []

    def draw(generator: np.random.Generator, conditions: np.ndarray) -> np.ndarray:
        seen.append(conditions)
        return generator.standard_normal((len(conditions), 2)) + conditions[:, :1] * 100  # noise, then the condition

    rng = np.random.default_rng(5)
    drawn = rows_of_samples(draw, rows, 3, rng)
    assert drawn.shape == (6, 2)
    np.testing.assert_allclose(drawn[:3] - 100, drawn[3:], atol=1e-12)  # the same noise in both rows
    np.testing.assert_array_equal(np.concatenate(seen), [[1, 0]] * 3 + [[0, 1]] * 3)
    np.testing.assert_array_equal(drawn[3:], np.random.default_rng(5).standard_normal((3, 2)))  # rng's own state


def test_the_projection_discriminator_adds_an_inner_product_linear_in_the_condition() -> None:
    """logit(x, y) = psi(phi(x)) + <phi(x), V y>: zero conditions give the unconditional part, and the
    condition's share is linear in y."""
    import tensorflow as tf

    from genlab.config.schema import ConvNetConfig
    from genlab.models.nets import ConditionInput, encoder

    tf.keras.utils.set_random_seed(0)
    network = encoder((8, 8, 1), ConvNetConfig(widths=[4]), 1, "critic", condition=ConditionInput(3), projection=True)
    images = tf.random.uniform((5, 8, 8, 1))

    def logit(conditions: list[float]) -> np.ndarray:
        return network([images, tf.constant([conditions] * 5, tf.float32)]).numpy()

    base = logit([0, 0, 0])
    first, second = logit([1, 0, 0]) - base, logit([0, 1, 0]) - base
    np.testing.assert_allclose(logit([1, 1, 0]) - base, first + second, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(logit([2, 0, 0]) - base, 2 * first, rtol=1e-5, atol=1e-5)
    assert np.abs(first - second).max() > 0  # different classes move the score differently


def test_micro_batches_split_images_and_conditions_alike() -> None:
    import tensorflow as tf

    from genlab.training.micro_batches import mean_over_parts

    images = tf.random.uniform((12, 3))
    conditions = tf.random.uniform((12, 2))

    def metrics(batch) -> dict:
        part_images, part_conditions = batch
        assert part_images.shape[0] == part_conditions.shape[0]
        return {"value": tf.reduce_mean(tf.reduce_sum(part_images, 1) * part_conditions[:, 0])}

    whole = metrics((images, conditions))["value"].numpy()
    for sizes in ([12], [6, 6], [3, 3, 3, 3], [5, 4, 3]):
        parts = mean_over_parts(metrics, (images, conditions), sizes)["value"].numpy()
        np.testing.assert_allclose(parts, whole, rtol=1e-6)


class ArrayRecords:
    """Anything with a shape and read(indices): what streamed batches read from."""

    def __init__(self, images: np.ndarray):
        self.images = images
        self.shape = images.shape
        self.dtype = images.dtype

    def read(self, indices: np.ndarray) -> np.ndarray:
        return self.images[np.asarray(indices)]


@pytest.mark.parametrize("streamed", [False, True], ids=["in-memory", "streamed"])
def test_each_batch_brings_the_conditions_of_its_own_images(streamed: bool) -> None:
    """Image i is filled with the value i and its condition is [i, -i]: every row must stay paired."""
    import tensorflow as tf

    from genlab.training.batches import make_batches

    count = 40
    images = np.broadcast_to(np.arange(count, dtype=np.uint8)[:, None, None, None], (count, 2, 2, 1)).copy()
    conditions = np.stack([np.arange(count), -np.arange(count)], axis=1).astype(np.float32)
    batches = make_batches(ArrayRecords(images) if streamed else images, 8, 3, (0.0, 255.0), False, conditions)
    batches.start(0)
    seen = []
    for step in range(10):  # two epochs: a new permutation in the second
        batch_images, batch_conditions = batches.batch(tf.constant(step, tf.int64))
        values = batch_images.numpy()[:, 0, 0, 0]
        np.testing.assert_array_equal(batch_conditions.numpy(), np.stack([values, -values], axis=1))
        seen.append(values)
    assert sorted(np.concatenate(seen[:5]).astype(int)) == list(range(count))
