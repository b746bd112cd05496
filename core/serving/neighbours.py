"""A second opinion on "no tumor": the nearest training images.

A model trained on one collection's tumours and another's no-tumour slices can call a tumour
from a new collection "no tumor" with full confidence, and its own out-of-distribution guard
rarely objects (core.studies.crosssource measures both). The nearest training images, in a feature
space no label has shaped, are an independent view: where most of them are tumours, a "no
tumor" answer is not to be trusted.

The features are ImageNet's: MobileNetV2's layers below the top it fine-tunes never change in
training (core.models.registry.split_below_top), so the shipped MobileNetV2 carries them, pooled to a
96-vector and L2-normalised. `python -m core neighbours` writes the reference and a LiteRT copy
of that network (NEIGHBOURS_TFLITE_FILE), which computes the features of both the reference and
an upload, a few milliseconds a call; without the copy, Keras computes an upload's.

K nearest by cosine similarity; the answer is doubted when more than SHARE of them are tumour
images (a majority of five). Not a clean choice: K of 5, 10 and 25 and shares of 0.3 and 0.5
were looked at on the previous recipe's leave-one-source-out results, whose false alarms are
counted on Testing images, before this one was kept.
"""

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from core.data.dataset import CLASS_NAMES, NOTUMOR
from core.files import atomic_path

if TYPE_CHECKING:
    import keras

K = 5
SHARE = 0.5  # doubted when more than half the K nearest training images are tumours


@dataclass(frozen=True)
class Neighbours:
    features: np.ndarray  # (N, D) float16, L2-normalised: the training images
    tumour: np.ndarray  # (N,) bool: a tumour image of any class

    def tumour_share(self, features: np.ndarray) -> np.ndarray:
        """(M, D) features (any scale) -> (M,) share of tumour images among the K nearest."""
        query = normalised(features)
        similarity = query @ self.features.astype(np.float32).T  # (M, N)
        nearest = np.argpartition(-similarity, K - 1, axis=1)[:, :K]
        return self.tumour[nearest].mean(axis=1)

    def doubts(self, predicted: np.ndarray, features: np.ndarray) -> np.ndarray:
        """(M,) True where a "no tumor" answer (predicted class indices) has mostly tumour neighbours."""
        return (np.asarray(predicted) == NOTUMOR) & (self.tumour_share(features) > SHARE)

    def save(self, path: Path) -> None:
        with atomic_path(path) as temporary, temporary.open("wb") as file:
            np.savez_compressed(file, features=self.features, tumour=self.tumour)

    @classmethod
    def load(cls, path: Path) -> "Neighbours":
        with np.load(path) as stored:
            return cls(stored["features"], stored["tumour"])


def load_reference(root: Path | None = None) -> Neighbours:
    """The shipped reference (NEIGHBOURS_FILE). Raises artifacts.ArtifactError if missing or damaged."""
    from core import artifacts

    stored = artifacts.load_dataset_arrays(artifacts.NEIGHBOURS_FILE, root)
    return Neighbours(stored["features"], stored["tumour"])


def normalised(features: np.ndarray) -> np.ndarray:
    features = np.asarray(features, np.float32)
    return features / np.maximum(np.linalg.norm(features, axis=1, keepdims=True), 1e-12)


def fit(features: np.ndarray, labels: np.ndarray) -> Neighbours:
    """The reference set: training images' features and whether each is a tumour."""
    return Neighbours(normalised(features).astype(np.float16), np.asarray(labels) != NOTUMOR)


def feature_model(mobilenetv2: "keras.Model", fine_tune_layers: int) -> "keras.Model":
    """The ImageNet part of a (shipped) MobileNetV2, pooled: raw 0-255 images -> (B, D) features."""
    import keras

    from core.models.registry import split_below_top

    trunk, _ = split_below_top(mobilenetv2, fine_tune_layers)
    return keras.Model(trunk.inputs, keras.layers.GlobalAveragePooling2D()(trunk.output))


def feature_call(
    mobilenetv2: "keras.Model", fine_tune_layers: int, copy: Path | None = None
) -> Callable[[np.ndarray], np.ndarray]:
    """(N, S, S, 3) images -> (N, D) features: through the LiteRT copy at `copy` where it loads,
    else through Keras (with a warning if the copy is there but unusable)."""
    from core.models.registry import compiled

    if copy is not None and copy.is_file():
        from core.serving.litert import BatchCall

        try:
            return BatchCall(copy.read_bytes())
        except (ImportError, ValueError, RuntimeError) as error:
            warnings.warn(f"LiteRT copy unusable, computing with Keras: {copy}: {error}", stacklevel=2)
    call = compiled(feature_model(mobilenetv2, fine_tune_layers))
    return lambda images: np.asarray(call(np.asarray(images, np.float32)))


class NeighbourCheck:
    """The second opinion for uploads: the shipped MobileNetV2's ImageNet layers and the reference.

    Args:
        copy: the LiteRT copy of those layers (feature_call); None or missing computes with Keras.
    """

    def __init__(
        self,
        mobilenetv2: "keras.Model",
        fine_tune_layers: int,
        reference: Neighbours,
        copy: Path | None = None,
    ) -> None:
        self._features = feature_call(mobilenetv2, fine_tune_layers, copy)
        self.reference = reference

    @classmethod
    def from_artifacts(
        cls, mobilenetv2: "keras.Model", fine_tune_layers: int, root: Path | None = None
    ) -> "NeighbourCheck":
        """With the shipped reference and LiteRT copy; raises artifacts.ArtifactError without the former."""
        from core import artifacts, paths

        copy = paths.artifacts_dir(root) / artifacts.NEIGHBOURS_TFLITE_FILE
        return cls(mobilenetv2, fine_tune_layers, load_reference(root), copy)

    def warning(self, image: np.ndarray, answers: dict[str, str]) -> str | None:
        """A sentence where some model says "no tumor" but most of the K nearest training images to
        `image` ((S, S, 3) uint8 at MobileNetV2's size) are tumours, else None.

        Args:
            answers: model title -> class name it predicts.
        """
        saying = [title for title, label in answers.items() if label == CLASS_NAMES[NOTUMOR]]
        if not saying:
            return None
        share = float(self.reference.tumour_share(self._features(image[None]))[0])
        if share <= SHARE:
            return None
        return (
            f"{' and '.join(saying)} {'says' if len(saying) == 1 else 'say'} *no tumor*, but "
            f"{round(share * K)} of the {K} training images most like this scan are tumours: the "
            "answer may say more about the scan's collection than about a tumour."
        )


def main(argv: list[str] | None = None) -> None:
    import sys

    from core import artifacts, cli, paths
    from core.data.cache import cached_images
    from core.data.dataset import TRAIN_SPLIT, find_samples
    from core.serving.litert import BatchCall, converted

    parser = cli.parser(
        "Write the nearest-training-image reference and its network's LiteRT copy (artifacts/neighbours.*).",
        models=False,
    )
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    root = Path(args.artifacts)
    config = artifacts.load_config("mobilenetv2", root)
    network = feature_model(artifacts.load_model("mobilenetv2", root), config.fine_tune_layers)
    decoded = cached_images(
        find_samples(paths.data_dir(args.data), TRAIN_SPLIT), config.image_size, TRAIN_SPLIT
    )
    content = converted(network)
    with atomic_path(root / artifacts.NEIGHBOURS_TFLITE_FILE) as temporary:
        temporary.write_bytes(content)
    reference = fit(BatchCall(content)(decoded.images), decoded.labels)  # as uploads are computed
    reference.save(root / artifacts.NEIGHBOURS_FILE)
    print(f"{len(reference.features):,} training images, {reference.tumour.mean():.0%} tumours", flush=True)


if __name__ == "__main__":
    from core.cli import run

    run(main)
