"""Out-of-distribution guard: does an upload look like the brain MRI slices a model learned from?

Each model's own penultimate features (MobileNetV2: the pooled 1280-vector; custom CNN: its
128-unit dense layer) of the images it was fitted on give four class means and one shared
covariance, shrunk towards a diagonal (Ledoit-Wolf) so it stays invertible. An image's score is
its smallest squared Mahalanobis distance to a class mean. The threshold is the 99th percentile
of the validation images' scores: by construction about 1 genuine image in 100 is flagged, and
the measured rate on the test set is reported next to it.

CLI: python -m core.ood [--model NAME]  -> artifacts/ood_report.json: each model's guard on the
test set (false alarms, from the scores evaluation stored) and on clearly foreign images.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from core import artifacts, cli

FEATURE_LAYERS = {"mobilenetv2": "avg_pool", "custom_cnn": "dense"}  # by architecture
QUANTILE = 0.99
REPORT_FILE = "ood_report.json"  # at the artifacts root
SCORE_COLUMN = "ood_score"  # in predictions.csv and validation_predictions.csv


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
        temporary = Path(path).with_suffix(".tmp.npz")
        np.savez_compressed(temporary, means=self.means, precision=self.precision, threshold=self.threshold)
        temporary.replace(path)

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


def feature_and_probability_model(model, architecture: str):
    """A Keras model returning (penultimate features, probabilities) in one pass."""
    import keras

    layer = model.get_layer(FEATURE_LAYERS[architecture])
    return keras.Model(model.input, [layer.output, model.output])


def load_guard(name: str, root: Path = artifacts.ARTIFACTS_DIR) -> Guard:
    return Guard.load(artifacts.model_dir(name, root) / artifacts.GUARD_FILE)


class Checker:
    """A model's guard with the feature extractor it needs, compiled once for uploads."""

    def __init__(self, model, architecture: str, guard: Guard):
        import tensorflow as tf

        network = feature_and_probability_model(model, architecture)
        self._features = tf.function(lambda x: network(x, training=False)[0], reduce_retracing=True)
        self.guard = guard

    def scores(self, images: np.ndarray) -> np.ndarray:
        """(N, S, S, 3) uint8 at the model's size -> (N,) scores; above guard.threshold is foreign."""
        return self.guard.scores(np.asarray(self._features(images.astype(np.float32))))

    def flags(self, images: np.ndarray) -> np.ndarray:
        """(N, S, S, 3) uint8 -> (N,) True where an image is out of distribution."""
        return self.scores(images) > self.guard.threshold

    def warning(self, score: float) -> str | None:
        """A sentence for the user when `score` is out of distribution, else None."""
        if score <= self.guard.threshold:
            return None
        return (
            f"feature distance {score:,.0f}, over the {self.guard.threshold:,.0f} that 99% of "
            "genuine validation images stay under"
        )


# ---- Measuring the guard: foreign images ----


def foreign_images(size: int = 256) -> Iterator[tuple[str, str, np.ndarray]]:
    """(kind, name, (H, W, 3) uint8 image) of images no brain MRI classifier should accept.

    Synthetic images always; photographs and other medical images from scikit-image's bundled
    samples when scikit-image is installed.
    """
    rng = np.random.default_rng(0)
    ramp = np.linspace(0, 255, size, dtype=np.float32)
    synthetic = {
        "black": np.zeros((size, size, 3)),
        "white": np.full((size, size, 3), 255),
        "mid gray": np.full((size, size, 3), 128),
        "uniform noise": rng.integers(0, 256, (size, size, 3)),
        "gray noise": np.repeat(rng.integers(0, 256, (size, size, 1)), 3, axis=2),
        "colour gradient": np.stack(
            [np.tile(ramp, (size, 1)), np.tile(ramp[:, None], (1, size)), np.full((size, size), 128)], axis=2
        ),  # fmt: skip
        "checkerboard": np.repeat(
            (np.indices((size, size)).sum(axis=0) // 32 % 2 * 255)[..., None], 3, axis=2
        ),
    }
    for name, image in synthetic.items():
        yield "synthetic", name, image.astype(np.uint8)
    try:
        from skimage import data
    except ImportError:
        return
    groups = {
        "photograph": ("astronaut", "coffee", "chelsea", "rocket", "camera", "coins", "moon", "page",
                       "text", "clock", "brick", "grass", "gravel", "horse", "logo", "colorwheel"),
        "other medical or scientific": ("retina", "microaneurysms", "immunohistochemistry",
                                        "hubble_deep_field", "cell"),
    }  # fmt: skip
    for kind, names in groups.items():
        for name in names:
            try:
                image = np.asarray(getattr(data, name)())
            except Exception:  # a sample that needs a download: skip it offline
                continue
            yield kind, name, _as_rgb8(image)


def _as_rgb8(image: np.ndarray) -> np.ndarray:
    """Any scikit-image sample (bool, float, gray, RGBA) -> (H, W, 3) uint8."""
    if image.dtype == bool:
        image = image.astype(np.uint8) * 255
    elif image.dtype != np.uint8:
        image = np.asarray((image - image.min()) / max(float(np.ptp(image)), 1e-6) * 255, np.uint8)
    if image.ndim == 2:
        image = np.repeat(image[..., None], 3, axis=2)
    return image[..., :3]


def _resized(image: np.ndarray, size: int) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.fromarray(image).resize((size, size), Image.Resampling.BILINEAR))


def measure(model, config, guard: Guard, test_scores: np.ndarray) -> dict:
    """The guard's false-alarm rate on the test images and its detections of foreign images.

    Args:
        test_scores: the test images' scores, as evaluation wrote them to predictions.csv.
    """
    features = feature_and_probability_model(model, config.architecture)
    foreign = list(foreign_images())
    batch = np.stack([_resized(image, config.image_size) for _, _, image in foreign]).astype(np.float32)
    feats, probabilities = features.predict(batch, batch_size=32, verbose=0)
    scores = guard.scores(feats)
    return {
        "threshold": guard.threshold,
        "test": {"images": int(len(test_scores)), "flagged": int((test_scores > guard.threshold).sum())},
        "foreign": [
            {
                "kind": kind,
                "name": name,
                "score": float(s),
                "flagged": bool(s > guard.threshold),
                "confidence": float(p.max()),
            }
            for (kind, name, _), s, p in zip(foreign, scores, probabilities)
        ],  # fmt: skip
    }


def main(argv: list[str] | None = None) -> None:
    args = cli.parser(__doc__.splitlines()[0]).parse_args(argv)
    root = Path(args.artifacts)
    report, test_flags = {}, {}
    for name in cli.selected_models(args.model):
        model, config = artifacts.load_model(name, root), artifacts.load_config(name, root)
        guard, table = load_guard(name, root), artifacts.load_predictions(name, root)
        report[name] = measure(model, config, guard, table[SCORE_COLUMN].to_numpy())
        test_flags[name] = pd.Series(table[SCORE_COLUMN].to_numpy() > guard.threshold, index=table["path"])
    if len(report) > 1:  # the app warns when any model's guard flags an upload
        flagged_by_any = pd.concat(test_flags, axis=1).any(axis=1)
        foreign = [
            any(flags) for flags in zip(*([f["flagged"] for f in r["foreign"]] for r in report.values()))
        ]
        report["any model"] = {
            "test": {"images": len(flagged_by_any), "flagged": int(flagged_by_any.sum())},
            "foreign": [
                f | {"flagged": flag} for f, flag in zip(next(iter(report.values()))["foreign"], foreign)
            ],
        }
    for name, result in report.items():
        test, foreign = result["test"], result["foreign"]
        print(
            f"[{name}] {test['flagged']} of {test['images']} test images flagged "
            f"({test['flagged'] / test['images']:.1%}), {sum(f['flagged'] for f in foreign)} of "
            f"{len(foreign)} foreign images flagged",
            flush=True,
        )
        if name in test_flags:
            for item in foreign:
                verdict = "flagged" if item["flagged"] else "passed "
                print(f"  {verdict} {item['kind']:<28} {item['name']:<22} score {item['score']:.0f}")
    artifacts.write_json(root / REPORT_FILE, report)


if __name__ == "__main__":
    cli.run(main)
