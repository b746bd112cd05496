"""The model registry and the model builders.

Every architecture is declared once, with `register`: its builder, default config (name,
display name, input size, recipe), the layer Grad-CAM explains, the layer the
out-of-distribution guard reads, whether it trains in two phases, whether it starts from
ImageNet weights, and how the pages name and colour it. Training, evaluation, Grad-CAM, the
guard, the command-line tools, the benchmarks and every page ask the registry (`get`, `names`)
instead of testing names.

Builders take raw 0-255 RGB and rescale inside the model, in a layer named "preprocess".
MobileNetV2 is built as one flat graph (its layers and the head in a single functional model),
so Grad-CAM can reach its last conv layer `Conv_1`.

Keras is imported inside the functions: the dashboard's first page reads the registry without
paying for TensorFlow.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from core.data.dataset import CLASS_NAMES
from core.models.config import ModelConfig

if TYPE_CHECKING:
    import keras

NUM_CLASSES = len(CLASS_NAMES)
PREPROCESS_LAYER = "preprocess"  # every builder's rescaling layer: the pretrained base starts after it


@dataclass(frozen=True)
class Architecture:
    """Everything known about one registered model."""

    build: Callable[..., "keras.Model"]  # (config[, weights]) -> model on raw 0-255 RGB
    config: ModelConfig  # default config: name, display name, input size, training recipe
    explain_layer: str  # the conv layer whose activations Grad-CAM weights
    feature_layer: str  # penultimate features: read by the guard, the head starts after it
    two_phase: bool  # head on a frozen base, then fine-tuning the top (else one phase)
    pretrained: bool  # starts from ImageNet weights
    short_name: str  # where space is short
    color: str  # hex colour of its plots
    badge: str  # Streamlit's name for the same hue, for Markdown badges
    control: bool = False  # an experimental control, not one of the two approaches compared

    @property
    def name(self) -> str:
        return self.config.name


_REGISTRY: dict[str, Architecture] = {}


def register(config: ModelConfig, **facts: Any) -> Callable[[Callable], Callable]:
    """Declare a model: decorate its builder with its config and the facts of `Architecture`.

    Raises:
        ValueError: the name is taken, or the config's name and architecture differ.
    """

    def decorator(build: Callable) -> Callable:
        if config.name in _REGISTRY:
            raise ValueError(f"a model named {config.name!r} is registered already")
        if config.architecture != config.name:
            raise ValueError(f"config {config.name!r} names architecture {config.architecture!r}")
        _REGISTRY[config.name] = Architecture(build=build, config=config, **facts)
        return build

    return decorator


def unregister(name: str) -> None:
    """Forget a registered model (tests that register one of their own)."""
    _REGISTRY.pop(name, None)


def get(name: str) -> Architecture:
    """The registered model `name` (a config's `architecture`).

    Raises:
        ValueError: nothing is registered under that name.
    """
    if name not in _REGISTRY:
        raise ValueError(f"unknown architecture {name!r}; registered: {', '.join(_REGISTRY)}")
    return _REGISTRY[name]


def names() -> list[str]:
    """Every registered model, in registration order (the order pages show them in)."""
    return list(_REGISTRY)


def build_model(config: ModelConfig, weights: str | None = None) -> "keras.Model":
    """The model `config` describes.

    Args:
        weights: for a pretrained architecture, "imagenet" (Keras' cache or download), a local
            .h5 path, or None (random initialisation); ignored by the others.
    """
    architecture = get(config.architecture)
    return architecture.build(config, weights) if architecture.pretrained else architecture.build(config)


# What every model trains with so that it learns the tumour, not the collection: one no-tumour slice
# with a pasted lesion per no-tumour training slice (core.training.lesions). Chosen on
# leave-one-source-out results (core.studies.crosssource); intensity augmentation
# (core.training.pipeline.random_intensity) was tried there too and cost accuracy on the held-out
# collections.
ROBUST = {"lesion_pastes": 1.0}

# fmt: off
MOBILENETV2 = ModelConfig(
    name="mobilenetv2", architecture="mobilenetv2", display_name="MobileNetV2 (transfer)",
    image_size=224, dropout=0.2,
    # Phase 1, the head on cached features (fractions of a second an epoch): run it to convergence.
    epochs=150, learning_rate=1e-3, early_stopping_patience=10, reduce_lr_patience=4,
    # Phase 2, fine-tuning the top 64 layers of the base (its last seven inverted-residual blocks,
    # cut at block_9_add) at a very low learning rate, on the cached activations of 8 augmented
    # copies of every training image (8 copies reached a lower validation loss than 4: 0.110
    # against 0.118). 64 layers beat 47, and 47 beat 30, on three seeds: validation loss 0.19
    # against 0.21 against 0.24, and more external tumours found at the validated operating point
    # (docs/generalisation.md).
    fine_tune_epochs=30, fine_tune_layers=64, fine_tune_learning_rate=2e-5, fine_tune_patience=6,
    cached_copies=8, **ROBUST,
)


@register(
    MOBILENETV2, explain_layer="Conv_1", feature_layer="avg_pool", two_phase=True, pretrained=True,
    short_name="MobileNetV2", color="#2563eb", badge="blue",
)
# fmt: on
def build_mobilenetv2(config: ModelConfig, weights: str | None = "imagenet") -> "keras.Model":
    """ImageNet MobileNetV2 without its classifier, plus a new head; base frozen (phase 1).

    Args:
        weights: "imagenet" (Keras' cache or download), a local .h5 path, or None (random).
    """
    import keras
    from keras import layers

    inputs = keras.Input((config.image_size, config.image_size, 3), name="image")  # (B, 224, 224, 3)
    # MobileNetV2 expects [-1, 1].
    x = layers.Rescaling(1 / 127.5, offset=-1, name=PREPROCESS_LAYER)(inputs)
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
    # float32 under a mixed dtype policy too: the loss reads probabilities bfloat16 would round.
    outputs = layers.Dense(NUM_CLASSES, activation="softmax", dtype="float32", name="predictions")(x)
    return keras.Model(inputs, outputs, name=config.name)


# fmt: off
CUSTOM_CNN = ModelConfig(
    name="custom_cnn", architecture="custom_cnn", display_name="Custom CNN (scratch)",
    image_size=128, dropout=0.4,
    # Validation loss of a scratch CNN with BatchNorm is noisy: be patient before cutting. At most
    # 32 epochs: the lowest validation loss of a 40-epoch run came at epoch 31 (a cosine schedule
    # over 25 epochs ended higher, 0.146 against 0.137; over the same 32 epochs, three seeds, 0.263
    # against 0.258 on average). 40 epochs in bfloat16, at about the same cost, tied on validation
    # (0.255) and found no more foreign tumours (docs/generalisation.md): float32 it stays.
    epochs=32, learning_rate=1e-3, early_stopping_patience=10, reduce_lr_patience=4, reduce_lr_factor=0.5,
    **ROBUST,
)
CUSTOM_CNN_FILTERS = (16, 32, 64, 128, 256)


@register(
    CUSTOM_CNN, explain_layer="conv5", feature_layer="dense", two_phase=False, pretrained=False,
    short_name="CNN", color="#ea580c", badge="orange",
)
# fmt: on
def build_custom_cnn(config: ModelConfig) -> "keras.Model":
    """Five Conv2D/BatchNorm/MaxPool blocks, then Dropout, Flatten and two Dense layers."""
    import keras
    from keras import layers

    inputs = keras.Input((config.image_size, config.image_size, 3), name="image")  # (B, 128, 128, 3)
    x = layers.Rescaling(1 / 255, name=PREPROCESS_LAYER)(inputs)
    for i, filters in enumerate(CUSTOM_CNN_FILTERS, start=1):
        x = layers.Conv2D(filters, 3, padding="same", activation="relu", name=f"conv{i}")(x)
        x = layers.BatchNormalization(name=f"bn{i}")(x)
        x = layers.MaxPooling2D(name=f"pool{i}")(x)  # halves the side: 128 -> 4 after five
    x = layers.Dropout(0.3, name="conv_dropout")(x)
    x = layers.Flatten(name="flatten")(x)  # (B, 4 * 4 * 256)
    x = layers.Dense(128, activation="relu", name="dense")(x)
    x = layers.Dropout(config.dropout, name="dense_dropout")(x)
    # float32 under a mixed dtype policy too: the loss reads probabilities bfloat16 would round.
    outputs = layers.Dense(NUM_CLASSES, activation="softmax", dtype="float32", name="predictions")(x)
    return keras.Model(inputs, outputs, name=config.name)


SCRATCH_BATCHNORM_MOMENTUM = 0.9  # Keras' usual 0.99 would still lag over a short schedule

# fmt: off
MOBILENETV2_SCRATCH = ModelConfig(
    name="mobilenetv2_scratch", architecture="mobilenetv2_scratch", display_name="MobileNetV2 (scratch)",
    # The control: MobileNetV2's architecture and head without ImageNet weights, every layer
    # trained from random initialisation in one phase with the custom CNN's recipe (pasted lesions
    # included), at 112 px and at most 20 epochs to fit the training budget (a step at 128 px cost
    # twice as much here).
    image_size=112, dropout=0.2,
    epochs=20, learning_rate=1e-3, early_stopping_patience=10, reduce_lr_patience=4, reduce_lr_factor=0.5,
    **ROBUST,
)


@register(
    MOBILENETV2_SCRATCH, explain_layer="Conv_1", feature_layer="avg_pool", two_phase=False, pretrained=False,
    short_name="MobileNetV2 scratch", color="#7c3aed", badge="violet", control=True,
)
# fmt: on
def build_mobilenetv2_scratch(config: ModelConfig) -> "keras.Model":
    """MobileNetV2 with the same head, randomly initialised and trainable throughout.

    Its BatchNorm layers average their statistics with momentum 0.9 instead of MobileNetV2's
    0.999, made for fine-tuning: from scratch the weights change fast, and with 0.999 the
    moving statistics lagged so far behind that validation accuracy stayed at one class (25%)
    for 14 epochs while training accuracy reached 93%.
    """
    from keras import layers

    model = build_mobilenetv2(config, weights=None)
    for layer in model.layers:
        layer.trainable = True
        if isinstance(layer, layers.BatchNormalization):
            layer.momentum = SCRATCH_BATCHNORM_MOMENTUM
    return model



# ---- Working with a built model ----


def base_layers(model: "keras.Model") -> list:
    """A two-phase model's pretrained layers: everything between the rescaling and the features."""
    names = [layer.name for layer in model.layers]
    start = names.index(PREPROCESS_LAYER) + 1
    end = names.index(get(model.name).feature_layer)
    return model.layers[start:end]


def unfreeze_top(model: "keras.Model", n_layers: int) -> None:
    """Phase 2: make the top `n_layers` of the base trainable; BatchNorm stays frozen.

    A frozen BatchNormalization runs in inference mode, so its ImageNet statistics are kept
    while the convolutions around it adapt.
    """
    from keras import layers

    for i, layer in enumerate(reversed(base_layers(model))):
        layer.trainable = i < n_layers and not isinstance(layer, layers.BatchNormalization)


def split_at(model: "keras.Model", layer: str) -> tuple["keras.Model", "keras.Model"]:
    """(trunk, head): the model from the image to `layer`'s output, and from there to the
    probabilities, both sharing the model's layers.

    Raises:
        ValueError: the layers after `layer` are not a single chain.
    """
    import keras

    names = [each.name for each in model.layers]
    cut = names.index(layer)
    activations = model.layers[cut].output
    previous = model.layers[cut]
    for each in model.layers[cut + 1 :]:
        if each.input is not previous.output:
            raise ValueError(f"the layers after {layer!r} are not a chain: {each.name!r} branches off")
        previous = each
    inputs = keras.Input(activations.shape[1:], name=f"{layer}_activations")
    x = inputs
    for each in model.layers[cut + 1 :]:
        x = each(x)
    return keras.Model(model.inputs, activations), keras.Model(inputs, x, name=f"{model.name}_head")


def split_below_top(model: "keras.Model", n_layers: int) -> tuple["keras.Model", "keras.Model"]:
    """(trunk, top) of a two-phase model: the image to the input of the base's top `n_layers`, and
    from there to the probabilities, both sharing the model's layers.

    The trunk is what fine-tuning the top `n_layers` leaves frozen: its outputs can be computed
    once and the top trained on them.

    Raises:
        ValueError: a layer of the top also reads a tensor from below the cut (a skip connection
            across it), so the trunk's output alone does not determine the top's.
    """
    import keras

    cut = base_layers(model)[-n_layers - 1]
    try:
        top = keras.Model(cut.output, model.output, name=f"{model.name}_top")
    except ValueError as error:
        message = f"cannot fine-tune {model.name} above {cut.name!r} on its outputs: {error}"
        raise ValueError(message) from error
    return keras.Model(model.inputs, cut.output, name=f"{model.name}_trunk"), top


def features_and_probabilities(model: "keras.Model") -> "keras.Model":
    """The model returning (penultimate features, probabilities) in one pass."""
    import keras

    layer = model.get_layer(get(model.name).feature_layer)
    return keras.Model(model.input, [layer.output, model.output])


def compiled(model: "keras.Model") -> Callable:
    """model(x, training=False) as one compiled call, retraced only for new input shapes."""
    import tensorflow as tf

    return tf.function(lambda x: model(x, training=False), reduce_retracing=True)


def predict_batches(model: "keras.Model", images: np.ndarray, batch_size: int = 64) -> Any:
    """The model's outputs (an array, or a list for several outputs) for uint8 images.

    One compiled call per batch, converted to float32 a batch at a time: on CPU faster than
    model.predict on one large array (about 20% for MobileNetV2), which first copies all of it
    into a tf.data pipeline (a float32 copy of 5,000 images at 224 px is 3 GB).
    """
    return batched(compiled(model), images, batch_size)


def batched(call: Callable, images: np.ndarray, batch_size: int = 64) -> Any:
    """predict_batches through a call compiled once (`compiled`), for a caller that calls it again."""
    import tensorflow as tf

    parts = [call(images[i : i + batch_size].astype(np.float32)) for i in range(0, len(images), batch_size)]
    if not parts:  # no images: run one empty batch for the output shapes
        parts = [call(np.zeros((0, *images.shape[1:]), np.float32))]
    return tf.nest.map_structure(lambda *outputs: np.concatenate([np.asarray(o) for o in outputs]), *parts)
