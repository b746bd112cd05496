"""Model builders. Both take raw 0-255 RGB and rescale inside the model.

MobileNetV2 is built as one flat graph (its layers and the head in a single functional model),
so Grad-CAM can reach its last conv layer `Conv_1`.
"""

import keras
import numpy as np
from keras import layers

from core.config import ModelConfig
from core.data import CLASS_NAMES

NUM_CLASSES = len(CLASS_NAMES)
MOBILENETV2_LAST_CONV = "Conv_1"
CUSTOM_CNN_LAST_CONV = "conv5"
CUSTOM_CNN_FILTERS = (16, 32, 64, 128, 256)


def build_mobilenetv2(config: ModelConfig, weights: str | None = "imagenet") -> keras.Model:
    """ImageNet MobileNetV2 without its classifier, plus a new head; base frozen (phase 1).

    Args:
        weights: "imagenet" (Keras' cache or download), a local .h5 path, or None (random).
    """
    inputs = keras.Input((config.image_size, config.image_size, 3), name="image")  # (B, 224, 224, 3)
    # MobileNetV2 expects [-1, 1].
    x = layers.Rescaling(1 / 127.5, offset=-1, name="preprocess")(inputs)
    base = keras.applications.MobileNetV2(
        input_shape=(config.image_size, config.image_size, 3),
        include_top=False,
        weights=weights,
        input_tensor=x,
    )
    base.trainable = False
    # The head hangs off base.output, not base(x): one flat graph.
    x = layers.GlobalAveragePooling2D(name="avg_pool")(base.output)  # (B, 1280)
    x = layers.Dropout(config.dropout, name="head_dropout")(x)
    outputs = layers.Dense(NUM_CLASSES, activation="softmax", name="predictions")(x)
    return keras.Model(inputs, outputs, name=config.name)


def build_custom_cnn(config: ModelConfig) -> keras.Model:
    """Five Conv2D/BatchNorm/MaxPool blocks, then Dropout, Flatten and two Dense layers."""
    inputs = keras.Input((config.image_size, config.image_size, 3), name="image")  # (B, 128, 128, 3)
    x = layers.Rescaling(1 / 255, name="preprocess")(inputs)
    for i, filters in enumerate(CUSTOM_CNN_FILTERS, start=1):
        x = layers.Conv2D(filters, 3, padding="same", activation="relu", name=f"conv{i}")(x)
        x = layers.BatchNormalization(name=f"bn{i}")(x)
        x = layers.MaxPooling2D(name=f"pool{i}")(x)  # halves the side: 128 -> 4 after five
    x = layers.Dropout(0.3, name="conv_dropout")(x)
    x = layers.Flatten(name="flatten")(x)  # (B, 4 * 4 * 256)
    x = layers.Dense(128, activation="relu", name="dense")(x)
    x = layers.Dropout(config.dropout, name="dense_dropout")(x)
    outputs = layers.Dense(NUM_CLASSES, activation="softmax", name="predictions")(x)
    return keras.Model(inputs, outputs, name=config.name)


def build_model(config: ModelConfig, weights: str | None = "imagenet") -> keras.Model:
    """The model `config` describes (weights only matter for MobileNetV2)."""
    if config.architecture == "mobilenetv2":
        return build_mobilenetv2(config, weights)
    if config.architecture == "custom_cnn":
        return build_custom_cnn(config)
    raise ValueError(f"unknown architecture {config.architecture!r} in config {config.name!r}")


def last_conv_layer(config: ModelConfig) -> str:
    """Name of the layer Grad-CAM looks at."""
    return MOBILENETV2_LAST_CONV if config.architecture == "mobilenetv2" else CUSTOM_CNN_LAST_CONV


def base_layers(model: keras.Model) -> list[keras.layers.Layer]:
    """MobileNetV2's own layers: everything between the rescaling and the head."""
    names = [layer.name for layer in model.layers]
    start, end = names.index("preprocess") + 1, names.index("avg_pool")
    return model.layers[start:end]


def unfreeze_top(model: keras.Model, n_layers: int) -> None:
    """Phase 2: make the top `n_layers` of the base trainable; BatchNorm stays frozen.

    A frozen BatchNormalization runs in inference mode, so its ImageNet statistics are kept
    while the convolutions around it adapt.
    """
    for i, layer in enumerate(reversed(base_layers(model))):
        layer.trainable = i < n_layers and not isinstance(layer, layers.BatchNormalization)


def predict_batches(model: keras.Model, images: np.ndarray, batch_size: int = 64):
    """The model's outputs (an array, or a list for several outputs) for uint8 images.

    One compiled call per batch, converted to float32 a batch at a time: on CPU faster than
    model.predict on one large array (about 20% for MobileNetV2), which first copies all of it
    into a tf.data pipeline (a float32 copy of 5,000 images at 224 px is 3 GB).
    """
    import tensorflow as tf

    call = tf.function(lambda batch: model(batch, training=False), reduce_retracing=True)
    parts = [call(images[i : i + batch_size].astype(np.float32)) for i in range(0, len(images), batch_size)]
    if not parts:  # no images: run one empty batch for the output shapes
        parts = [call(np.zeros((0, *images.shape[1:]), np.float32))]
    return tf.nest.map_structure(lambda *outputs: np.concatenate([np.asarray(o) for o in outputs]), *parts)
