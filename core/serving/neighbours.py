"""A second opinion on "no tumor": the nearest training images.

A model trained on one collection's tumours and another's no-tumour slices can call a tumour
from a new collection "no tumor" with full confidence, and its own out-of-distribution guard
rarely objects (core.studies.crosssource measures both). The nearest training images, in a feature
space no label has shaped, are an independent view: where most of them are tumours, a "no
tumor" answer is not to be trusted.

The features are ImageNet's, from a network no training here changes: MobileNetV2 with its
ImageNet weights, its last layer (FEATURE_LAYER) pooled to a 1,280-vector and L2-normalised.
`python -m core neighbours` writes the reference and a LiteRT copy of that network
(NEIGHBOURS_TFLITE_FILE), which computes the features of both the reference and an upload, a few
milliseconds a call. The layer was chosen on the leave-one-source-out folds (core.studies.crosssource:
of the held-out tumours the fold models call "no tumor", those whose nearest training images doubt
it), with the answers it doubts wrongly on the folds and on validation kept within the warnings'
budget (docs/generalisation.md has the table): the last layer caught the most.

K nearest by cosine similarity; the answer is doubted when more than SHARE of them are tumour
images (a majority of five). Not a clean choice: K of 5, 10 and 25 and shares of 0.3 and 0.5
were looked at on an earlier recipe's leave-one-source-out results, whose false alarms are
counted on Testing images, before this one was kept.
"""

import functools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from core.data.dataset import CLASS_NAMES, NOTUMOR
from core.files import atomic_path

if TYPE_CHECKING:
    import keras

FEATURE_LAYER = "out_relu"  # MobileNetV2's last ImageNet layer (chosen on the folds: above)
K = 5
SHARE = 0.5  # doubted when more than half the K nearest training images are tumours


@dataclass(frozen=True)
class Neighbours:
    features: np.ndarray  # (N, D) float16, L2-normalised: the training images
    tumour: np.ndarray  # (N,) bool: a tumour image of any class

    @functools.cached_property
    def _unit(self) -> np.ndarray:
        """(N, D) float32: the features as every query is compared with them, converted once."""
        return self.features.astype(np.float32)

    def tumour_share(self, features: np.ndarray) -> np.ndarray:
        """(M, D) features (any scale) -> (M,) share of tumour images among the K nearest."""
        query = normalised(features)
        similarity = query @ self._unit.T  # (M, N)
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


def feature_model(weights: str | None) -> "keras.Model":
    """ImageNet's MobileNetV2 up to FEATURE_LAYER, pooled: raw 0-255 images -> (B, 1280) features.

    Args:
        weights: as core.models.registry.build_model's: "imagenet", a local .h5 file, or None
            (random, for tests).
    """
    import keras

    from core.models.registry import MOBILENETV2, build_model

    model = build_model(MOBILENETV2, weights)  # its preprocessing: the raw pixels every model takes
    return keras.Model(
        model.inputs, keras.layers.GlobalAveragePooling2D()(model.get_layer(FEATURE_LAYER).output)
    )


class NeighbourCheck:
    """The second opinion for uploads: the feature network's LiteRT copy and the reference.

    Args:
        features: (N, S, S, 3) images at MobileNetV2's registered size -> (N, D) features, as the
            reference was computed.
    """

    def __init__(self, features: Callable[[np.ndarray], np.ndarray], reference: Neighbours) -> None:
        self._features = features
        self.reference = reference

    @classmethod
    def from_artifacts(cls, root: Path | None = None) -> "NeighbourCheck":
        """With the shipped reference and LiteRT copy.

        Raises:
            artifacts.ArtifactError: either is missing (DamagedArtifactError: unreadable).
        """
        from core import artifacts
        from core.serving.litert import BatchCall

        reference = load_reference(root)
        file, command = artifacts.NEIGHBOURS_TFLITE_FILE, artifacts.writer(artifacts.NEIGHBOURS_TFLITE_FILE)
        try:
            features = artifacts.read_dataset_file(file, BatchCall, root)
        except (ImportError, RuntimeError) as error:  # no LiteRT here, or an interpreter it cannot build
            raise artifacts.DamagedArtifactError(
                f"{file} unusable ({error}); rewrite it with `{command}`"
            ) from error
        if features.output_shape != reference.features.shape[1:]:  # one file rewritten without the other
            raise artifacts.DamagedArtifactError(
                f"{file} gives {features.output_shape} features, the reference holds "
                f"{reference.features.shape[1:]}; "
                f"rewrite both with `{command}`"
            )
        return cls(features, reference)

    def warning(self, image: np.ndarray, answers: dict[str, str]) -> str | None:
        """A sentence where some model says "no tumor" but most of the K nearest training images to
        `image` ((S, S, 3) uint8 at MobileNetV2's size) are tumours, else None.

        Args:
            answers: model title -> class name it predicts.
        """
        saying = [title for title, label in answers.items() if label == CLASS_NAMES[NOTUMOR]]
        if not saying:
            return None
        share = float(self.reference.tumour_share(self._features(at_feature_size(image)[None]))[0])
        if share <= SHARE:
            return None
        return (
            f"{' and '.join(saying)} {'says' if len(saying) == 1 else 'say'} *no tumor*, but "
            f"{round(share * K)} of the {K} training images most like this scan are tumours: the "
            "answer may say more about the scan's collection than about a tumour."
        )


def at_feature_size(image: np.ndarray) -> np.ndarray:
    """An (S, S, 3) uint8 image at the feature network's input size (MobileNetV2's registered one),
    resized as decoding resizes where a served MobileNetV2 takes another size."""
    from PIL import Image

    from core.models.registry import MOBILENETV2

    size = MOBILENETV2.image_size
    if image.shape[:2] == (size, size):
        return image
    return np.asarray(Image.fromarray(image).resize((size, size), Image.Resampling.BILINEAR))


def main(argv: list[str] | None = None) -> None:
    import sys

    from core import artifacts, cli, paths
    from core.data.cache import cached_images
    from core.data.dataset import TRAIN_SPLIT, find_samples
    from core.models.registry import MOBILENETV2
    from core.serving.litert import BatchCall, converted

    parser = cli.parser(
        "Write the nearest-training-image reference and its network's LiteRT copy (artifacts/neighbours.*).",
        models=False,
    )
    parser.add_argument("--weights", help=f"local MobileNetV2 ImageNet .h5 (or ${paths.WEIGHTS_ENV_VAR})")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    root = Path(args.artifacts)
    network = feature_model(paths.imagenet_weights(args.weights))
    decoded = cached_images(
        find_samples(paths.data_dir(args.data), TRAIN_SPLIT), MOBILENETV2.image_size, TRAIN_SPLIT
    )
    content = converted(network)
    reference = fit(BatchCall(content)(decoded.images), decoded.labels)  # as uploads are computed
    # Both files once both are ready: an interrupted run leaves the previous pair.
    with atomic_path(root / artifacts.NEIGHBOURS_TFLITE_FILE) as temporary:
        temporary.write_bytes(content)
    reference.save(root / artifacts.NEIGHBOURS_FILE)
    print(f"{len(reference.features):,} training images, {reference.tumour.mean():.0%} tumours", flush=True)


if __name__ == "__main__":
    from core.cli import run

    run(main)
