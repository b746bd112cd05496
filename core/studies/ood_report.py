"""How well each model's out-of-distribution guard (core.serving.ood) works: false alarms on the test set
and detections of clearly foreign images.

CLI: python -m core guard-report [--model NAME]  -> artifacts/ood_report.json: each model's guard
on the test set (false alarms, from the scores evaluation stored) and on foreign images.
"""

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from core import artifacts, cli
from core.files import write_json
from core.models.config import ModelConfig
from core.models.registry import features_and_probabilities
from core.serving import ood

if TYPE_CHECKING:
    import keras


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


def measure(model: "keras.Model", config: ModelConfig, guard: ood.Guard, test_scores: np.ndarray) -> dict:
    """The guard's false-alarm rate on the test images and its detections of foreign images.

    Args:
        test_scores: the test images' scores, as evaluation wrote them to predictions.csv.
    """
    network = features_and_probabilities(model)
    foreign = list(foreign_images())
    batch = np.stack([_resized(image, config.image_size) for _, _, image in foreign])
    feats, probabilities = network.predict(batch.astype(np.float32), batch_size=32, verbose=0)
    scores = guard.scores(feats)
    return {
        "threshold": guard.threshold,
        "test": {"images": int(len(test_scores)), "flagged": int((test_scores > guard.threshold).sum())},
        "foreign": [
            {
                "kind": kind,
                "name": name,
                "score": float(s),
                "flagged": bool(s > guard.threshold or flat),  # as Checker.flag decides
                "blank": flat,
                "confidence": float(p.max()),
            }
            for (kind, name, _), flat, s, p in zip(foreign, map(ood.blank, batch), scores, probabilities)
        ],  # fmt: skip
    }


def main(argv: list[str] | None = None) -> None:
    args = cli.parser(__doc__.splitlines()[0]).parse_args(argv)
    root = Path(args.artifacts)
    report, test_flags = {}, {}
    for name in cli.selected_models(args.model):
        model, config = artifacts.load_model(name, root), artifacts.load_config(name, root)
        guard, table = ood.load_guard(name, root), artifacts.load_predictions(name, root)
        report[name] = measure(model, config, guard, table[ood.SCORE_COLUMN].to_numpy())
        test_flags[name] = pd.Series(
            table[ood.SCORE_COLUMN].to_numpy() > guard.threshold, index=table["path"]
        )
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
    write_json(root / artifacts.GUARD_REPORT_FILE, report)


if __name__ == "__main__":
    cli.run(main)
