"""Out-of-distribution guard: does an upload look like the brain MRI slices a model learned from?

Each model's own penultimate features (MobileNetV2: the pooled 1280-vector; custom CNN: its
128-unit dense layer) of the images it was fitted on give four class means and one shared
covariance, shrunk towards a diagonal (Ledoit-Wolf) so it stays invertible. An image's score is
its smallest squared Mahalanobis distance to a class mean. The app refuses an upload that any
of its models' guards flags (core.serving.predict.refusal), so the guards share one budget: each
threshold is the QUANTILE of its validation images' scores that lets the registered models
together flag about 1 genuine image in 100 (three models: each 1 in 300); the measured rates on
the test set are reported next to it (core.studies.ood_report). Which layer holds a
model's features is its registry entry's `feature_layer`. Before any guard, an image of one flat
shade (`blank`) is refused by every model's Checker: features of nothing can pass a guard.
"""

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from core import artifacts
from core.files import atomic_path
from core.models import registry
from core.models.registry import compiled, features_and_probabilities

if TYPE_CHECKING:
    import keras

    from core.data.decode import DecodedImage
    from core.serving.litert import LiteRTModel

APP_FALSE_ALARMS = 0.01  # genuine images the app's guards together may refuse
QUANTILE = 1 - APP_FALSE_ALARMS / len(registry.names())  # each registered model's share
SCORE_COLUMN = "ood_score"  # in predictions.csv and validation_predictions.csv
# A scan always shows a head against its background; an image whose every channel stays within
# this many grey levels (of 255) over 98% of its pixels is one flat shade, and no model is asked to
# judge it: a guard learned from features can pass a flat image (the network's features of
# nothing fall where they fall). Every image of the dataset and of the external set spreads far
# wider (docs/comparison.md).
BLANK_SPREAD = 8


@dataclass(frozen=True)
class Guard:
    means: np.ndarray  # (C, D) class means of the fitted features
    precision: np.ndarray  # (D, D) inverse of the shared covariance
    threshold: float  # scores above it are out of distribution

    def scores(self, features: np.ndarray) -> np.ndarray:
        """(N, D) features -> (N,) smallest squared Mahalanobis distance to a class mean."""
        centred = features[:, None, :] - self.means[None]  # (N, C, D)
        distances = np.einsum("ncd,de,nce->nc", centred, self.precision, centred)
        return distances.min(axis=1)

    def flags(self, features: np.ndarray) -> np.ndarray:
        """(N,) True where an image is out of distribution."""
        return self.scores(features) > self.threshold

    def save(self, path: Path) -> None:
        with atomic_path(path) as temporary, temporary.open("wb") as file:
            np.savez_compressed(file, means=self.means, precision=self.precision, threshold=self.threshold)

    @classmethod
    def load(cls, path: Path) -> "Guard":
        with np.load(path) as stored:
            return cls(stored["means"], stored["precision"], float(stored["threshold"]))


def fit(
    features: np.ndarray, labels: np.ndarray, validation_features: np.ndarray, quantile: float = QUANTILE
) -> Guard:
    """Class means and shrunk shared covariance from `features`; threshold from the validation scores.

    Args:
        features: (N, D) penultimate features of the images the model was fitted on.
        labels: (N,) their class indices.
        validation_features: (M, D) features of held-out images of the same distribution.
    """
    from sklearn.covariance import LedoitWolf

    classes = np.unique(labels)
    means = np.stack([features[labels == c].mean(axis=0) for c in classes])
    centred = features - means[np.searchsorted(classes, labels)]
    precision = LedoitWolf(assume_centered=True).fit(centred).precision_
    guard = Guard(means.astype(np.float32), precision.astype(np.float32), threshold=np.inf)
    threshold = float(np.quantile(guard.scores(validation_features), quantile))
    return Guard(guard.means, guard.precision, threshold)


def load_guard(name: str, root: Path | None = None) -> Guard:
    """A model's guard. Raises artifacts.ArtifactError if ood.npz is missing or damaged."""
    stored = artifacts.load_arrays(name, artifacts.GUARD_FILE, root)
    return Guard(stored["means"], stored["precision"], float(stored["threshold"]))


def spread(pixels: np.ndarray) -> float:
    """How much an (H, W, 3) image varies: the largest of its channels' ranges from the 1st to the
    99th percentile (a few odd pixels, a JPEG's specks, do not count)."""
    channels = np.asarray(pixels).reshape(-1, np.shape(pixels)[-1])
    low, high = np.percentile(channels, [1, 99], axis=0)
    return float((high - low).max())


def blank(pixels: np.ndarray) -> bool:
    """Whether an (H, W, 3) image is one flat shade (spread under BLANK_SPREAD): nothing to judge."""
    return spread(pixels) < BLANK_SPREAD


@dataclass(frozen=True)
class Flag:
    """Why a model's guard does not vouch for an upload."""

    reason: str  # for the user: the distance over the threshold, or the sizes
    # The upload is smaller than the model's input: enlarged, a genuine scan loses the detail the
    # guard measures and can score as foreign, so the verdict is "too small to judge", not foreign.
    too_small: bool = False


def _features_litert(path: Path | None) -> "LiteRTModel | None":
    """A float32 LiteRTModel with a features output at `path`, or None."""
    if path is None or not Path(path).is_file():
        return None
    try:
        from core.serving.litert import LiteRTModel

        litert = LiteRTModel(path)
    except (ImportError, ValueError, RuntimeError):
        return None
    return litert if litert.has_features and not litert.quantized else None


class Checker:
    """A model's guard with the feature extractor it needs: the float32 LiteRT copy's features
    output where it has one (one fast call, no TensorFlow), else the Keras model compiled once.

    Args:
        litert_path: the model's model.tflite; missing, older (no features) or unusable: Keras.
    """

    def __init__(self, model: "keras.Model", guard: Guard, litert_path: Path | None = None) -> None:
        self.guard = guard
        self._litert = _features_litert(litert_path)
        if self._litert is None:
            self._features_and_probabilities = compiled(features_and_probabilities(model))

    @classmethod
    def from_artifacts(cls, name: str, model: "keras.Model", root: Path | None = None) -> "Checker":
        """The shipped model `name`'s guard, reading features from its model.tflite where it can."""
        return cls(model, load_guard(name, root), artifacts.model_dir(name, root) / artifacts.TFLITE_FILE)

    def features(self, images: np.ndarray) -> np.ndarray:
        """(N, S, S, 3) uint8 at the model's size -> (N, D) the penultimate features the guard reads."""
        if self._litert is not None:
            return self._litert.features(np.asarray(images, np.uint8))
        features, _ = self._features_and_probabilities(images.astype(np.float32))
        return np.asarray(features)

    def scores(self, images: np.ndarray) -> np.ndarray:
        """(N, S, S, 3) uint8 at the model's size -> (N,) scores; above guard.threshold is foreign."""
        return self.guard.scores(self.features(images))

    def flags(self, images: np.ndarray) -> np.ndarray:
        """(N, S, S, 3) uint8 -> (N,) True where an image is out of distribution or blank."""
        return (self.scores(images) > self.guard.threshold) | np.array([blank(image) for image in images])

    def warning(self, score: float) -> str | None:
        """A sentence for the user when `score` is out of distribution, else None."""
        if score <= self.guard.threshold:
            return None
        return (
            f"feature distance {score:,.0f}, over the {self.guard.threshold:,.0f} that "
            f"{QUANTILE:.1%} of genuine validation images stay under"
        )

    def flag(self, upload: "DecodedImage") -> Flag | None:
        """None if the guard vouches for an upload decoded at the model's size, else why not."""
        if (amount := spread(upload.pixels)) < BLANK_SPREAD:  # blank(), its spread kept for the reason
            return Flag(
                f"one flat shade (its pixels spread over {amount:.0f} of 255 grey levels): no scan to judge"
            )
        warning = self.warning(float(self.scores(upload.pixels[None])[0]))
        if warning is None:
            return None
        if upload.enlarged:
            side = len(upload.pixels)
            return Flag(f"{upload.width}x{upload.height} px, under the {side}x{side} px it takes", True)
        return Flag(warning)
