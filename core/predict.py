"""Predictions on uploaded files: one image or a batch, each model at its own input size."""

import time
from collections.abc import Callable, Iterable

import numpy as np
import pandas as pd

from core.config import ModelConfig
from core.data import CLASS_NAMES, ImageError, decode_image


class Predictor:
    """A model with its config and a compiled call (traced once, then fast for batch 1)."""

    def __init__(self, model, config: ModelConfig):
        import tensorflow as tf

        self.model, self.config = model, config
        self._call = tf.function(lambda x: model(x, training=False), reduce_retracing=True)
        size = config.image_size
        self.probabilities(np.zeros((1, size, size, 3), np.uint8))  # trace now, not on the first upload

    def probabilities(self, images: np.ndarray) -> np.ndarray:
        """(N, S, S, 3) uint8 at this model's size -> (N, 4) probabilities."""
        return np.asarray(self._call(images.astype(np.float32)))

    def predict_file(self, data: bytes, name: str) -> tuple[np.ndarray, np.ndarray, float]:
        """Decode and classify one file: (image at model size, probabilities (4,), milliseconds).

        Raises:
            ImageError: the file is not a usable image.
        """
        image = decode_image(data, self.config.image_size, name=name)
        start = time.perf_counter()
        probabilities = self.probabilities(image[None])[0]
        return image, probabilities, (time.perf_counter() - start) * 1000


def predict_files(
    predictors: dict[str, Predictor],
    files: Iterable[tuple[str, bytes]],
    on_progress: Callable[[int], None] | None = None,
) -> pd.DataFrame:
    """Classify many files with every model; a bad file gets its error in its row, the rest go on.

    Returns:
        One row per file: file, error ("" when fine), then per model `<name>_label` and
        `<name>_confidence`, and `agree`.
    """
    rows = []
    for done, (name, data) in enumerate(files, start=1):
        row: dict = {"file": name, "error": ""}
        try:
            for model_name, predictor in predictors.items():
                _, probabilities, _ = predictor.predict_file(data, name)
                row[f"{model_name}_label"] = CLASS_NAMES[int(probabilities.argmax())]
                row[f"{model_name}_confidence"] = float(probabilities.max())
            row["agree"] = len({row[f"{m}_label"] for m in predictors}) == 1
        except ImageError as error:
            row = {"file": name, "error": str(error)}
        rows.append(row)
        if on_progress:
            on_progress(done)
    columns = ["file", "error"]
    columns += [f"{m}_{field}" for m in predictors for field in ("label", "confidence")] + ["agree"]
    return pd.DataFrame(rows).reindex(columns=columns)
