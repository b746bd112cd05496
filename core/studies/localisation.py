"""Where the models look, scored against the tumour boxes: is a model right for the right reasons?

CLI: python -m core localisation [--data DIR] [--boxes FILE] [--artifacts DIR] [--model NAME|all]
     [--methods NAME ...]

Each boxed Testing image (the figshare slices of the tumour-box file, core.data.provenance) is
explained for its true class by every CAM method, and the map is scored against the box:

- pointing game: the map's peak lies in the box grown by GROW of the image side on every edge
  (a peak placed at random lands there about 11% of the time on these boxes);
- mass in box: the share of the map's sum inside the box itself;
- IoU: the box against the map thresholded at half its maximum.

Writes artifacts/localisation.csv (one row per image, model and method) and
localisation.json (each model and method on the full and clean test images: the three scores
with 95% bootstrap intervals, pointing per class, and the compared models' paired difference in
pointing with McNemar's test). The boxes never leave the measurement: no model is trained on
Testing's boxes.
"""

import sys
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from core import artifacts, cli, paths
from core.data import provenance
from core.data.dataset import CLASS_NAMES, TEST_SPLIT, find_samples
from core.data.subsets import clean_test_paths
from core.evaluation import stats
from core.evaluation.stats import percent_interval
from core.files import atomic_path, write_json
from core.serving.gradcam import METHODS
from core.wording import p_text

if TYPE_CHECKING:
    from core.serving.gradcam import Explainer

GROW = 0.10  # of the image side, on every edge of the box, for the pointing game
THRESHOLD = 0.5  # of the map's maximum, for IoU
SCORES = ("pointing", "mass", "iou")
TABLE_FILE, SUMMARY_FILE = artifacts.LOCALISATION_TABLE, artifacts.LOCALISATION_FILE
FULL, CLEAN = "full", "clean"


def box_mask(box: provenance.Box, side: int, grow: float = 0.0) -> np.ndarray:
    """(side, side) bool: the box, each edge moved out by `grow` of the side."""
    half_w, half_h = box.width / 2 + grow, box.height / 2 + grow
    columns = (np.arange(side) + 0.5) / side
    rows = (np.arange(side) + 0.5) / side
    inside_x = np.abs(columns - box.x_center) <= half_w
    inside_y = np.abs(rows - box.y_center) <= half_h
    return inside_y[:, None] & inside_x[None, :]


def score(cam: np.ndarray, box: provenance.Box) -> dict[str, float]:
    """The three scores of one (S, S) map in [0, 1] against one box."""
    side = cam.shape[0]
    inside = box_mask(box, side)
    peak = np.unravel_index(int(np.argmax(cam)), cam.shape)
    total = float(cam.sum())
    hot = cam >= THRESHOLD * cam.max() if cam.max() > 0 else np.zeros_like(inside)
    union = (hot | inside).sum()
    return {
        "pointing": float(box_mask(box, side, GROW)[peak]) if cam.max() > 0 else 0.0,
        "mass": float(cam[inside].sum() / total) if total > 0 else 0.0,
        "iou": float((hot & inside).sum() / union) if union else 0.0,
    }


def draw_box(image: np.ndarray, box: provenance.Box, color: tuple[int, int, int] = (0, 255, 0)) -> np.ndarray:
    """A copy of an (H, W, 3) uint8 image with the box drawn on it."""
    from PIL import Image, ImageDraw

    height, width = image.shape[:2]
    drawn = Image.fromarray(image)
    left, right = (box.x_center - box.width / 2) * width, (box.x_center + box.width / 2) * width
    top, bottom = (box.y_center - box.height / 2) * height, (box.y_center + box.height / 2) * height
    ImageDraw.Draw(drawn).rectangle([left, top, right, bottom], outline=color, width=max(1, width // 112))
    return np.asarray(drawn)


def describe(scores: dict[str, float]) -> str:
    """E.g. "peak on the tumour, 12% of the map in its box"."""
    where = "on" if scores["pointing"] else "off"
    return f"peak {where} the tumour, {scores['mass']:.0%} of the map in its box"


def one_sided(
    table: pd.DataFrame, method: str, a: str, b: str, titles: dict[str, str], subset: str = FULL
) -> pd.DataFrame:
    """The images of `subset` (FULL or CLEAN) where exactly one of two models points at the
    tumour (`method`), with both models' mass in the box: one row per image, columns named by
    `titles`."""
    rows = table[(table["method"] == method) & (table["clean"] | (subset == FULL))]
    wide = rows.pivot(index=["path", "label"], columns="model", values=["pointing", "mass"])
    hit_a = wide[("pointing", a)].astype(bool)
    chosen = wide[hit_a != wide[("pointing", b)].astype(bool)]
    return pd.DataFrame(
        {
            "Test image": chosen.index.get_level_values("path"),
            "Class": chosen.index.get_level_values("label"),
            "On the tumour": np.where(hit_a[hit_a.index.isin(chosen.index)], titles[a], titles[b]),
            f"{titles[a]}: mass in box": chosen[("mass", a)].to_numpy(),
            f"{titles[b]}: mass in box": chosen[("mass", b)].to_numpy(),
        }
    )


def scores_table(summary: dict, subset: str, titles: dict[str, str]) -> pd.DataFrame:
    """One row per model and method: the three scores with their 95% intervals on `subset`."""
    rows = []
    for model, by_method in summary["models"].items():
        for method, subsets in by_method.items():
            figures = subsets[subset]
            row = {"Model": titles.get(model, model), "Method": method}
            for name, title in (("pointing", "Pointing game"), ("mass", "Mass in box"), ("iou", "IoU")):
                row[title] = percent_interval(figures[name])
            rows.append(row)
    return pd.DataFrame(rows)


HEADING = "Where the models look, against the tumour boxes"  # the Grad-CAM page's and the report's


def scores_sentence(summary: dict, subset: str | None = None) -> str:
    """What the three scores of scores_table measure, in one Markdown sentence.

    Args:
        summary: the localisation summary (artifacts.load_localisation).
        subset: FULL or CLEAN to say how many boxed images it holds; None for a text over both.
    """
    images = f"{summary['images'][subset]:,} test images" if subset else "test images"
    return (
        f"Each model's map for the true class on the {images} with a tumour box (the figshare "
        f"slices): **pointing game**, the map's peak in the box grown by {summary['grow']:.0%} of the "
        "image side on every edge (a random peak lands there about 11% of the time); **mass in box**, "
        f"the share of the map inside the box; **IoU**, the box against the map above "
        f"{summary['threshold']:.0%} of its maximum. 95% bootstrap intervals."
    )


def paired_sentence(summary: dict, subset: str, method: str, titles: dict[str, str]) -> str:
    """The compared models' pointing difference with `method`, in one sentence, or ""."""
    found = summary["paired"].get(method, {}).get(subset)
    if not found:
        return ""
    a, b = (titles.get(name, name) for name in found["models"])
    difference = found["difference"]
    return (
        f"{method}: {a} minus {b}, pointing game {difference['estimate'] * 100:+.1f} points "
        f"(95% CI {difference['low'] * 100:+.1f} to {difference['high'] * 100:+.1f}); only {a} on the "
        f"tumour for {found['only_a']} images, only {b} for {found['only_b']} "
        f"(McNemar {p_text(found['p_value'])})."
    )


def measure(
    explainer: "Explainer", images: np.ndarray, labels: np.ndarray, boxes: list, method: str
) -> pd.DataFrame:
    """Scores of `method`'s map for each image's true class: one row per image."""
    rows = [
        score(explainer.heatmap(image, int(label), method), box)
        for image, label, box in zip(images, labels, boxes)
    ]
    return pd.DataFrame(rows, columns=list(SCORES))


def summary(table: pd.DataFrame, compared: list[str]) -> dict:
    """localisation.json's content from the per-image table (columns path, model, method, label,
    clean and SCORES)."""
    result: dict = {"grow": GROW, "threshold": THRESHOLD, "images": {}, "models": {}, "paired": {}}
    for subset in (FULL, CLEAN):
        part = table if subset == FULL else table[table["clean"]]
        result["images"][subset] = int(part["path"].nunique())
        for (model, method), rows in part.groupby(["model", "method"], sort=False):
            entry = result["models"].setdefault(model, {}).setdefault(method, {})
            entry[subset] = {name: asdict(stats.bootstrap_mean(rows[name].to_numpy())) for name in SCORES}
            entry[subset]["pointing_per_class"] = rows.groupby("label")["pointing"].mean().to_dict()
        if len(compared) == 2:
            a, b = compared
            for method, rows in part.groupby("method", sort=False):
                pivot = rows.pivot(index="path", columns="model", values="pointing").dropna()
                hits_a, hits_b = pivot[a].to_numpy().astype(bool), pivot[b].to_numpy().astype(bool)
                # A hit scored as a right answer, a miss as a wrong one: the paired bootstrap of
                # accuracy and McNemar's test then compare the two models' pointing.
                truth = np.ones(len(pivot), int)
                difference = stats.paired_difference(
                    truth, hits_a.astype(int), hits_b.astype(int), "accuracy"
                )
                test = stats.mcnemar(truth, hits_a.astype(int), hits_b.astype(int))
                result["paired"].setdefault(method, {})[subset] = {
                    "models": [a, b],
                    "difference": asdict(difference),
                    "only_a": int((hits_a & ~hits_b).sum()),
                    "only_b": int((hits_b & ~hits_a).sum()),
                    "p_value": test.p_value,
                }
    return result


def localisation(
    data_dir: Path, boxes_file: Path, root: Path, names: list[str], methods: tuple[str, ...] = METHODS
) -> dict:
    """Score every model and method on the boxed Testing images; write and return the summary."""
    from core.data.cache import cached_images
    from core.models.registry import get as get_architecture
    from core.serving.gradcam import Explainer

    boxes = provenance.read_boxes(boxes_file)
    samples = [s for s in find_samples(data_dir, TEST_SPLIT) if s.relpath in boxes]
    if not samples:
        raise FileNotFoundError(f"no boxed Testing image (tumour-box file: {boxes_file})")
    clean = set(clean_test_paths(artifacts.load_audit(root)))
    tables = []
    for name in names:
        config = artifacts.load_config(name, root)
        decoded = cached_images(samples, config.image_size, TEST_SPLIT + "-boxed")
        explainer = Explainer(
            artifacts.load_model(name, root), get_architecture(config.architecture).explain_layer
        )
        for method in methods:
            print(f"[{name}] {method} on {len(decoded.kept)} boxed test images", flush=True)
            scored = measure(
                explainer, decoded.images, decoded.labels, [boxes[s.relpath] for s in decoded.kept], method
            )
            scored.insert(0, "path", [s.relpath for s in decoded.kept])
            scored.insert(1, "model", name)
            scored.insert(2, "method", method)
            scored.insert(3, "label", [CLASS_NAMES[label] for label in decoded.labels])
            scored.insert(4, "clean", scored["path"].isin(clean))
            tables.append(scored)
    table = pd.concat(tables, ignore_index=True)
    compared = [n for n in names if not get_architecture(n).control]
    result = summary(table, compared)
    with atomic_path(root / TABLE_FILE) as temporary:
        table.to_csv(temporary, index=False, float_format="%.4g")
    write_json(root / SUMMARY_FILE, result)
    return result


def main(argv: list[str] | None = None) -> None:
    parser = cli.parser(__doc__.splitlines()[0], boxes=True)
    parser.add_argument("--methods", nargs="+", choices=METHODS, default=list(METHODS))
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    data_dir, root = paths.data_dir(args.data), Path(args.artifacts)
    result = localisation(
        data_dir,
        provenance.boxes_path(data_dir, args.boxes),
        root,
        cli.selected_models(args.model),
        tuple(args.methods),
    )
    for model, by_method in result["models"].items():
        for method, subsets in by_method.items():
            full = subsets[FULL]
            pointing, mass = full["pointing"]["estimate"], full["mass"]["estimate"]
            print(f"{model} {method}: pointing {pointing:.1%}, mass in box {mass:.1%}", flush=True)


if __name__ == "__main__":
    cli.run(main)
