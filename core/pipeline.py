"""tf.data pipelines over decoded images; augmentation on training batches only."""

import keras
import numpy as np
import tensorflow as tf

from core.config import ModelConfig
from core.models import NUM_CLASSES


def augmenter(config: ModelConfig, seed: int) -> keras.Sequential:
    """Random rotation, shift, zoom and horizontal flip, as in the published study."""
    steps = [
        keras.layers.RandomRotation(config.rotation_degrees / 360, fill_mode="constant", seed=seed),
        keras.layers.RandomTranslation(
            config.shift_fraction, config.shift_fraction, fill_mode="constant", seed=seed + 1
        ),
        keras.layers.RandomZoom(config.zoom_fraction, fill_mode="constant", seed=seed + 2),
    ]
    if config.horizontal_flip:
        steps.append(keras.layers.RandomFlip("horizontal", seed=seed + 3))
    return keras.Sequential(steps, name="augment")


def dataset(images: np.ndarray, labels: np.ndarray, config: ModelConfig, training: bool) -> tf.data.Dataset:
    """Batches of (raw 0-255 float images, one-hot labels); shuffled and augmented if training."""
    ds = tf.data.Dataset.from_tensor_slices((images, labels))
    if training:
        ds = ds.shuffle(len(images), seed=config.seed, reshuffle_each_iteration=True)
    ds = ds.batch(config.batch_size)

    def to_inputs(x, y):
        return tf.cast(x, tf.float32), tf.one_hot(y, NUM_CLASSES)  # (B, S, S, 3), (B, 4)

    ds = ds.map(to_inputs, num_parallel_calls=tf.data.AUTOTUNE)
    if training:
        augment = augmenter(config, config.seed)
        ds = ds.map(lambda x, y: (augment(x, training=True), y), num_parallel_calls=tf.data.AUTOTUNE)
    return ds.prefetch(tf.data.AUTOTUNE)
