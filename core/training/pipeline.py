"""tf.data pipelines over decoded images; augmentation on training batches only."""

import math

import numpy as np
import tensorflow as tf

from core.models.config import ModelConfig
from core.models.registry import NUM_CLASSES


def affine_transforms(
    angle: tf.Tensor, shift: tf.Tensor, zoom: tf.Tensor, flip: tf.Tensor, height: tf.Tensor, width: tf.Tensor
) -> tf.Tensor:
    """Per-image (B, 8) ImageProjectiveTransformV3 rows for rotate -> shift -> zoom -> flip.

    The composition of what keras.layers.RandomRotation, RandomTranslation, RandomZoom and
    RandomFlip("horizontal") apply one after another, each about the image centre.

    Args:
        angle: (B,) radians, counter-clockwise.
        shift: (B, 2) pixels (x, y), positive = right, down.
        zoom: (B,) sampling scale, > 1 zooms out (as RandomZoom's 1 + factor).
        flip: (B,) bool, mirror left-right.
        height, width: the image size in pixels (scalars).
    """
    cx = (tf.cast(width, tf.float32) - 1) / 2
    cy = (tf.cast(height, tf.float32) - 1) / 2
    cos, sin = tf.cos(angle), tf.sin(angle)
    mirror = tf.where(flip, -1.0, 1.0)
    # Each output pixel p samples the input at R(T(Z(F(p)))): flip, then zoom, shift and
    # rotate back, all about the centre c, so a0..b2 map (x, y) -> (a0 x + a1 y + a2, ...).
    a0, a1 = zoom * mirror * cos, -zoom * sin
    b0, b1 = zoom * mirror * sin, zoom * cos
    dx, dy = shift[:, 0], shift[:, 1]
    a2 = cx - a0 * cx - a1 * cy - cos * dx + sin * dy
    b2 = cy - b0 * cx - b1 * cy - sin * dx - cos * dy
    zeros = tf.zeros_like(a0)
    return tf.stack([a0, a1, a2, b0, b1, b2, zeros, zeros], axis=1)


def random_affine(images: tf.Tensor, config: ModelConfig, seed: tf.Tensor) -> tf.Tensor:
    """Random rotation, shift, zoom and horizontal flip, as in the published study.

    Per image, it draws what the Keras layers RandomRotation(+-rotation_degrees),
    RandomTranslation(shift_fraction), RandomZoom(zoom_fraction) and RandomFlip would draw, all
    uniform, and applies them as one bilinear resample with black fill: the same distribution
    of transforms at a third of the CPU time of the four layers in turn, which resample three
    times. Inside the frame the result equals theirs; near the edges it keeps pixels that an
    earlier layer would have pushed out of the frame and filled black (as Keras 2's
    ImageDataGenerator did, which also applied one combined transform).

    Args:
        images: (B, H, W, 3) float32.
        seed: (2,) int, for stateless random draws: the same seed gives the same batch.
    """
    shape = tf.shape(images)
    batch, height, width = shape[0], shape[1], shape[2]
    draws = tf.random.stateless_uniform((batch, 5), seed, minval=-1.0, maxval=1.0)  # (B, 5)
    angle = draws[:, 0] * config.rotation_degrees * math.pi / 180
    shift = draws[:, 1:3] * config.shift_fraction * tf.cast(tf.stack([width, height]), tf.float32)
    zoom = 1 + draws[:, 3] * config.zoom_fraction
    flip = draws[:, 4] < 0 if config.horizontal_flip else tf.zeros((batch,), tf.bool)
    return tf.raw_ops.ImageProjectiveTransformV3(
        images=images,
        transforms=affine_transforms(angle, shift, zoom, flip, height, width),
        output_shape=shape[1:3],
        fill_value=0.0,
        interpolation="BILINEAR",
        fill_mode="CONSTANT",
    )


INVERSION_PROBABILITY = 0.2
BLUR_PROBABILITY = 0.3
HEAD_LEVEL = 0.04  # of full scale: darker pixels are background


def random_intensity(
    images: tf.Tensor, seed: tf.Tensor, strength: float = 1.0, inversion: float = INVERSION_PROBABILITY
) -> tf.Tensor:
    """Per image, intensity changes another scanner or sequence could make: sometimes the head's
    intensities inverted (a crude T1/T2 swap, the background stays black), a gamma curve,
    contrast, a linear bias field, sometimes a slight blur, and noise.

    Args:
        images: (B, H, W, 3) float32, 0-255.
        seed: (2,) int, for stateless random draws.
        strength: scales the range of every change but the inversion (1: gamma 0.67-1.49, contrast
            0.8-1.2, a bias field of +-15% at the edges, blur on 30% of images, noise up to 3%).
        inversion: the probability of the inversion.
    """
    shape = tf.shape(images)
    batch, height, width = shape[0], shape[1], shape[2]
    draws = tf.random.stateless_uniform((batch, 8), seed)  # (B, 8) in [0, 1)
    per_image = lambda column: draws[:, column, None, None, None]  # noqa: E731  (B, 1, 1, 1)
    centred = lambda column: (per_image(column) - 0.5) * strength  # noqa: E731  in [-strength/2, strength/2)
    x = images / 255
    head = tf.cast(x > HEAD_LEVEL, tf.float32)
    x = tf.where(per_image(0) < inversion, head * (1 + HEAD_LEVEL - x), x)
    x = x ** tf.exp(centred(1) * 0.8)  # gamma
    x = x * (1 + 0.4 * centred(2))  # contrast
    rows = tf.linspace(-1.0, 1.0, height)[None, :, None, None]
    columns = tf.linspace(-1.0, 1.0, width)[None, None, :, None]
    x = x * (1 + 0.3 * (centred(3) * rows + centred(4) * columns))  # bias field
    kernel = tf.tile(tf.constant([[1.0, 2, 1], [2, 4, 2], [1, 2, 1]])[:, :, None, None] / 16, [1, 1, 3, 1])
    blurred = tf.nn.depthwise_conv2d(x, kernel, [1, 1, 1, 1], "SAME")
    x = tf.where(per_image(5) < BLUR_PROBABILITY * strength, blurred, x)
    noise = tf.random.stateless_normal(shape, seed + 1) * 0.03 * strength * per_image(6)
    return tf.clip_by_value(x + noise, 0.0, 1.0) * 255


CONVOLUTION_LAYERS, CONVOLUTION_CHANNELS = 4, 8


def random_convolution(images: tf.Tensor, seed: tf.Tensor, probability: float) -> tf.Tensor:
    """Global intensity non-linear augmentation (GIN, Ouyang et al. 2021): the grey image through a
    shallow convolutional network with random weights (a new one every batch), rescaled to the
    head's own intensity range and mixed with the image at a random weight, so that the tissue's
    contrasts change while its shapes stay. Applied to `probability` of the images; the background
    stays black.

    Args:
        images: (B, H, W, 3) float32, 0-255, grey (the three channels equal).
        seed: (2,) int, for stateless random draws.
    """
    x = images[..., :1] / 255  # (B, H, W, 1)
    head = x > HEAD_LEVEL
    h = x
    for i in range(CONVOLUTION_LAYERS):
        last = i == CONVOLUTION_LAYERS - 1
        size, c_in, c_out = (1 if last else 3), h.shape[-1], (1 if last else CONVOLUTION_CHANNELS)
        kernel = tf.random.stateless_normal((size, size, c_in, c_out), seed + 10 + i) / (size * c_in**0.5)
        h = tf.nn.conv2d(h, kernel, 1, "SAME")
        h = h if last else tf.nn.leaky_relu(h, 0.2)
    low = lambda t: tf.reduce_min(tf.where(head, t, 1e9), axis=(1, 2, 3), keepdims=True)  # noqa: E731
    high = lambda t: tf.reduce_max(tf.where(head, t, -1e9), axis=(1, 2, 3), keepdims=True)  # noqa: E731
    h = (h - low(h)) / tf.maximum(high(h) - low(h), 1e-6)  # the head's range in the random image, to 0-1
    h = low(x) + h * (high(x) - low(x))  # ... to the head's own range
    draws = tf.random.stateless_uniform((tf.shape(x)[0], 2), seed)[:, :, None, None, None]  # (B, 2, 1, 1, 1)
    mixed = draws[:, 0] * h + (1 - draws[:, 0]) * x
    out = tf.where(head & (draws[:, 1] < probability), mixed, x)
    return tf.repeat(tf.clip_by_value(out, 0.0, 1.0) * 255, 3, axis=-1)


def augment(images: tf.Tensor, config: ModelConfig, seed: tf.Tensor) -> tf.Tensor:
    """A training batch's augmentation: random_affine, then random_convolution and random_intensity
    if the config says so."""
    images = random_affine(images, config, seed)
    if config.random_convolution:
        images = random_convolution(images, seed + 4, config.random_convolution)
    if not config.intensity_augmentation:
        return images
    return random_intensity(images, seed + 2, config.intensity_strength, config.inversion_probability)


def augmented_copies(
    images: np.ndarray, config: ModelConfig, copies: int, batch_size: int = 64
) -> tf.data.Dataset:
    """`copies` passes over `images` in order, every batch randomly transformed (augment).

    Float32 batches of raw 0-255 images, the same in every run with the same config.seed: pass
    k covers images[0], images[1], ... with draws of its own.
    """
    ds = tf.data.Dataset.from_tensor_slices(images).batch(batch_size).repeat(copies)
    seeds = tf.data.Dataset.random(seed=config.seed).batch(2)
    ds = tf.data.Dataset.zip(ds, seeds).map(
        lambda x, seed: augment(tf.cast(x, tf.float32), config, seed),
        num_parallel_calls=tf.data.AUTOTUNE,
    )
    return ds.prefetch(tf.data.AUTOTUNE)


def dataset(images: np.ndarray, labels: np.ndarray, config: ModelConfig, training: bool) -> tf.data.Dataset:
    """Batches of (raw 0-255 float images, one-hot labels); shuffled and augmented if training."""
    ds = tf.data.Dataset.from_tensor_slices((images, labels))
    if training:
        ds = ds.shuffle(len(images), seed=config.seed, reshuffle_each_iteration=True)
    ds = ds.batch(config.batch_size)

    def to_inputs(x: tf.Tensor, y: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        return tf.cast(x, tf.float32), tf.one_hot(y, NUM_CLASSES)  # (B, S, S, 3), (B, 4)

    ds = ds.map(to_inputs, num_parallel_calls=tf.data.AUTOTUNE)
    if training:
        # One seed pair per batch, different every epoch and the same in every run.
        seeds = tf.data.Dataset.random(seed=config.seed, rerandomize_each_iteration=True).batch(2)
        ds = tf.data.Dataset.zip(ds, seeds).map(
            lambda xy, seed: (augment(xy[0], config, seed), xy[1]),
            num_parallel_calls=tf.data.AUTOTUNE,
        )
    return ds.prefetch(tf.data.AUTOTUNE)
