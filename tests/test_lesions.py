"""Pasted lesions and intensity augmentation: what the robust recipe adds to training."""

import numpy as np
import pytest

from core.data.decode import Decoded
from core.data.provenance import NOTUMOR, Box
from core.training.lesions import cut, paste, pasted, with_pastes

SIDE = 96


def head(brightness: float = 90, seed: int = 0) -> np.ndarray:
    """A (SIDE, SIDE, 3) uint8 'slice': a noisy grey disc (the head) on black."""
    rng = np.random.default_rng(seed)
    rows, columns = np.mgrid[:SIDE, :SIDE]
    inside = (rows - SIDE / 2) ** 2 + (columns - SIDE / 2) ** 2 < (SIDE * 0.42) ** 2
    grey = np.where(inside, brightness + rng.normal(0, 3, (SIDE, SIDE)), 0)
    return np.repeat(np.clip(grey, 0, 255).astype(np.uint8)[..., None], 3, axis=2)


def tumour_slice(seed: int = 0) -> tuple[np.ndarray, Box]:
    """A head with a bright round lesion of radius 8 centred at row 48, column 38, and its box."""
    image = head(seed=seed)
    rows, columns = np.mgrid[:SIDE, :SIDE]
    image[(rows - 48) ** 2 + (columns - 38) ** 2 < 64] = 220
    return image, Box(x_center=38 / SIDE, y_center=48 / SIDE, width=16 / SIDE, height=16 / SIDE)


def test_a_pasted_lesion_lands_inside_the_head_with_its_contrast_kept():
    target = head(brightness=60)
    image, box = tumour_slice()
    contrast, mask = cut(image, box)
    assert mask.max() == pytest.approx(1, abs=0.05) and mask[0, 0] == 0  # soft ellipse in the window
    out = paste(target, contrast, mask, np.random.default_rng(1))
    changed = np.abs(out[..., 0].astype(int) - target[..., 0]) > 20
    assert changed.sum() > 50  # the lesion is there
    background = target[..., 0] == 0
    assert not (changed & background).any()  # never on the background
    # The donor's lesion is 220 / 90 of its tissue: pasted into tissue of 60, about 147.
    assert out[..., 0].max() == pytest.approx(220 / 90 * 60, rel=0.15)
    assert (out[..., 0] == out[..., 1]).all()  # still grey


def test_a_head_without_room_gets_no_paste():
    image, box = tumour_slice()
    empty = np.zeros((SIDE, SIDE, 3), np.uint8)
    assert paste(empty, *cut(image, box), np.random.default_rng(0)) is None
    assert cut(image, Box(0.5, 0.5, 1 / SIDE, 1 / SIDE)) is None  # a box too small to cut


def test_pasted_slices_take_the_lesion_class_and_repeat_with_their_seed():
    targets = np.stack([head(seed=s) for s in range(3)])
    donors, boxes = zip(*(tumour_slice(seed=s) for s in range(2)))
    labels = np.array([0, 3])
    images, classes = pasted(targets, np.stack(donors), list(boxes), labels, count=10, seed=5)
    assert images.shape == (10, SIDE, SIDE, 3) and set(classes) <= {0, 3}
    again, _ = pasted(targets, np.stack(donors), list(boxes), labels, count=10, seed=5)
    assert (images == again).all()


def test_with_pastes_uses_boxed_training_tumours_and_adds_one_per_no_tumour_slice(tiny_cnn):
    import dataclasses

    from core.data.dataset import Sample

    _, config = tiny_cnn
    images = np.stack([tumour_slice()[0], head(seed=1), head(seed=2), tumour_slice(seed=3)[0]])
    labels = np.array([0, NOTUMOR, NOTUMOR, 1])
    kept = [Sample(None, f"Training/x/{i}.jpg", int(label)) for i, label in enumerate(labels)]
    fit = Decoded(images, labels, kept, [])
    boxes = {"Training/x/0.jpg": tumour_slice()[1]}  # only the glioma is boxed
    recipe = dataclasses.replace(config, lesion_pastes=1.0)
    combined, count = with_pastes(fit, recipe, boxes)
    assert count == 2 and len(combined.images) == 6 and list(combined.labels[4:]) == [0, 0]
    assert combined.kept == kept  # the pasted slices are no sample
    assert with_pastes(fit, recipe, {})[1] == 0  # no box file: nothing to paste
    assert with_pastes(fit, dataclasses.replace(config, lesion_pastes=0.0), boxes)[0] is fit


def test_random_intensity_keeps_the_range_and_the_background_and_repeats_with_its_seed():
    import tensorflow as tf

    from core.training.pipeline import random_intensity

    images = tf.constant(np.stack([head(seed=s) for s in range(16)]).astype(np.float32))
    out = random_intensity(images, tf.constant([3, 4], tf.int64)).numpy()
    assert out.min() >= 0 and out.max() <= 255
    assert not np.allclose(out, images.numpy(), atol=1)  # it changes the images
    background = images.numpy() == 0
    assert np.median(out[background]) < 10  # the background stays dark (noise aside)
    again = random_intensity(images, tf.constant([3, 4], tf.int64)).numpy()
    assert np.allclose(out, again)


def test_random_intensity_strength_scales_the_changes_and_inversion_comes_apart():
    import tensorflow as tf

    from core.training.pipeline import random_intensity

    images = tf.constant(np.stack([head(seed=s) for s in range(16)]).astype(np.float32))
    seed = tf.constant([3, 4], tf.int64)
    change = lambda **kwargs: np.abs(random_intensity(images, seed, **kwargs).numpy() - images.numpy())  # noqa: E731
    assert change(strength=0.0, inversion=0.0).max() < 1e-3  # nothing left to change
    assert change(strength=0.5, inversion=0.0).mean() < change(strength=1.0, inversion=0.0).mean()
    inverted = change(strength=0.0, inversion=1.0)  # the inversion alone: every head flipped
    assert inverted.mean() > 20
    assert np.allclose(
        random_intensity(images, seed).numpy(), random_intensity(images, seed, 1.0, 0.2).numpy()
    )


def test_random_convolution_changes_the_heads_contrast_within_its_range_and_keeps_the_background():
    import tensorflow as tf

    from core.training.pipeline import random_convolution

    rng = np.random.default_rng(0)
    images = np.stack([head(seed=s) for s in range(8)]).astype(np.float32)
    images[:, 30:60, 30:60] += rng.uniform(0, 120, (8, 30, 30, 1))  # texture inside the head
    images = tf.constant(np.clip(images, 0, 255))
    seed = tf.constant([3, 4], tf.int64)
    out = random_convolution(images, seed, 1.0).numpy()
    inside, background = images.numpy() > 255 * 0.04, images.numpy() == 0
    assert np.abs(out - images.numpy())[inside].mean() > 5  # the head's intensities change
    assert (out[background] == 0).all()  # the background stays black
    for i in range(len(out)):  # within the head's own range
        assert images.numpy()[i][inside[i]].min() - 1e-3 <= out[i][inside[i]].min()
        assert out[i][inside[i]].max() <= images.numpy()[i][inside[i]].max() + 1e-3
    assert (out[..., 0] == out[..., 2]).all()  # still grey
    assert np.allclose(out, random_convolution(images, seed, 1.0).numpy())  # the same seed, the same
    assert np.allclose(random_convolution(images, seed, 0.0).numpy(), images.numpy(), atol=1e-3)
