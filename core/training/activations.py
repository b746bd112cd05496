"""The activations of the layers training never changes (MobileNetV2's base below its fine-tuned
top), computed once per run: for the plain images and for augmented copies (core.training.train)."""

from collections.abc import Callable, Iterable, Iterator
from typing import Any

import keras
import numpy as np

from core.models.config import ModelConfig
from core.models.registry import compiled
from core.serving import litert


def frozen_layers(trunk: keras.Model, config: ModelConfig) -> Callable[[np.ndarray], Any]:
    """The call of the layers below the fine-tuned top: their LiteRT copy (about twice as fast on a
    CPU), else, where LiteRT cannot convert them, the compiled Keras call."""
    try:
        return litert.FrozenLayers(trunk)
    except Exception as error:  # noqa: BLE001 (any converter failure: Keras computes the same)
        print(f"[{config.name}] LiteRT could not convert the frozen layers ({error}); Keras computes them")
        return compiled(trunk)


def activations(call: Callable[[np.ndarray], Any], batches: Iterable) -> np.ndarray:
    """The outputs of `call` over batches of raw 0-255 images, concatenated."""
    return np.concatenate([np.asarray(call(np.asarray(batch, np.float32))) for batch in batches])


def in_batches(images: np.ndarray, size: int = 64) -> Iterator[np.ndarray]:
    return (images[i : i + size] for i in range(0, len(images), size))
