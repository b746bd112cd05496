"""Where each image of the Kaggle dataset comes from: figshare, SARTAJ or Br35H.

The Kaggle release merges three public collections (its description, and the counts below):

- figshare (Cheng et al. 2015): 3,064 T1-weighted contrast-enhanced slices in three planes, all
  tumours (glioma 1,426, meningioma 708, pituitary 930).
- SARTAJ: meningioma, pituitary and no-tumour slices of mixed sequences and planes (its glioma
  folder was replaced by figshare's in the Kaggle release).
- Br35H: 1,500 of the 2,000 no-tumour slices, mostly axial, of mixed sequences; its tumour
  slices are not in the Kaggle release at all.

Nothing in a file's name or header says which collection it came from. The tumour-box file
(`<data>-boxes.csv`, matched to these files by thumbnail) lists every figshare image, so:
a tumour image in it is figshare's, a tumour image not in it is SARTAJ's (the 195 glioma slices
outside figshare have no published source: they are counted with SARTAJ), and a no-tumour image
is SARTAJ's or Br35H's, which the files do not tell apart (500 and 1,500 in the release).
Without the box file, only the class is known. How far the content alone (colour or grey,
file size, a thumbnail) recovers the figshare images is measured on Testing (inference_check).
"""

import csv
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.data.dataset import CLASS_NAMES, NOTUMOR, Sample

FIGSHARE, SARTAJ, NO_TUMOUR_COLLECTIONS, UNKNOWN = "figshare", "SARTAJ", "SARTAJ or Br35H", "unknown"
SOURCES = (FIGSHARE, SARTAJ, NO_TUMOUR_COLLECTIONS)
BOXES_ENV_VAR = "BRAIN_MRI_BOXES"

# What each collection covers, as published (the model card shows it).
COVERAGE = {
    FIGSHARE: "T1-weighted contrast-enhanced; axial, coronal and sagittal; glioma, meningioma, pituitary",
    SARTAJ: "mixed sequences and planes; meningioma, pituitary (and 195 gliomas of unstated origin)",
    NO_TUMOUR_COLLECTIONS: "SARTAJ (500) and Br35H (1,500) no-tumour slices; mixed sequences, mostly axial",
}


# figshare meningioma slices that the Kaggle release files under pituitary (matched by thumbnail
# with the tumour-box file; left out of it for the disagreement).
LABEL_CONFLICTS = (
    "Training/pituitary/Tr-pi_0043.jpg",
    "Training/pituitary/Tr-pi_0515.jpg",
    "Training/pituitary/Tr-pi_0520.jpg",
    "Testing/pituitary/Te-piTr_0002.jpg",
)


@dataclass(frozen=True)
class Box:
    """A tumour's bounding box, relative to the image (0..1), as in the box file."""

    x_center: float
    y_center: float
    width: float
    height: float


def boxes_path(data_dir: Path, flag: str | os.PathLike | None = None) -> Path:
    """The tumour-box file: `flag`, else $BRAIN_MRI_BOXES, else `<data_dir>-boxes.csv` beside it."""
    chosen = flag or os.environ.get(BOXES_ENV_VAR)
    if chosen:
        return Path(chosen).expanduser()
    data_dir = Path(data_dir)
    return data_dir.with_name(f"{data_dir.name}-boxes.csv")


def read_boxes(path: Path) -> dict[str, Box]:
    """relpath -> tumour box, from the box file; {} when there is no such file."""
    path = Path(path)
    if not path.is_file():
        return {}
    with path.open(newline="") as file:
        return {
            row["path"]: Box(*(float(row[key]) for key in ("x_center", "y_center", "width", "height")))
            for row in csv.DictReader(file)
        }


def source_of(sample: Sample, boxes: dict[str, Box]) -> str:
    """The collection `sample` comes from, by the rules in this module's docstring."""
    if sample.label == NOTUMOR:
        return NO_TUMOUR_COLLECTIONS
    if not boxes:
        return UNKNOWN
    return FIGSHARE if sample.relpath in boxes else SARTAJ


def sources(samples: list[Sample], boxes: dict[str, Box]) -> list[str]:
    """source_of for each sample."""
    return [source_of(sample, boxes) for sample in samples]


INFERENCE_SIDE = 32  # the thumbnail the content-based inference looks at


def content_features(samples: list[Sample]) -> np.ndarray:
    """(N, F) what a file carries without a record of its origin: stored in colour or grey, file
    size, a 32x32 grey thumbnail and its 16-bin histogram. Unreadable files give zeros."""
    from PIL import Image

    from core.data.decode import decode_image
    from core.data.imagefile import ImageError

    rows = []
    for sample in samples:
        try:
            with Image.open(sample.path) as image:
                colour = float(image.mode not in ("L", "I", "I;16", "F"))
            grey = decode_image(sample.path, INFERENCE_SIDE)[..., 0].astype(np.float32).ravel()
        except (ImageError, OSError):
            rows.append(np.zeros(2 + INFERENCE_SIDE**2 + 16, np.float32))
            continue
        histogram = np.histogram(grey, bins=16, range=(0, 256))[0] / grey.size
        rows.append(np.concatenate([[colour, sample.path.stat().st_size / 1e4], grey / 255, histogram]))
    return np.stack(rows).astype(np.float32)


def inference_check(train: list[Sample], test: list[Sample], boxes: dict[str, Box]) -> dict:
    """How well the content alone tells figshare's tumour slices from SARTAJ's.

    A gradient-boosted classifier learns figshare-or-not from Training's tumour images (the box
    file gives the answer) and is scored on Testing's: precision and recall of "figshare".
    """
    from sklearn.ensemble import HistGradientBoostingClassifier

    train = [s for s in train if s.label != NOTUMOR]
    test = [s for s in test if s.label != NOTUMOR]
    y_train = np.array([s.relpath in boxes for s in train])
    y_test = np.array([s.relpath in boxes for s in test])
    classifier = HistGradientBoostingClassifier(random_state=0).fit(content_features(train), y_train)
    found = classifier.predict(content_features(test)).astype(bool)
    return {
        "test_images": len(test),
        "figshare_precision": float((y_test & found).sum() / max(found.sum(), 1)),
        "figshare_recall": float((y_test & found).sum() / max(y_test.sum(), 1)),
        "accuracy": float((y_test == found).mean()),
    }


def summary(data_dir: Path, boxes: dict[str, Box]) -> dict:
    """Images per split, source and class, and each test image's source (what the pages need)."""
    from core.data.dataset import TEST_SPLIT, TRAIN_SPLIT, find_samples

    counts: dict = {}
    test_sources: dict[str, str] = {}
    splits = {split: find_samples(data_dir, split) for split in (TRAIN_SPLIT, TEST_SPLIT)}
    for split, samples in splits.items():
        for sample, source in zip(samples, sources(samples, boxes)):
            by_class = counts.setdefault(split, {}).setdefault(source, dict.fromkeys(CLASS_NAMES, 0))
            by_class[CLASS_NAMES[sample.label]] += 1
            if split == TEST_SPLIT:
                test_sources[sample.relpath] = source
    check = inference_check(splits[TRAIN_SPLIT], splits[TEST_SPLIT], boxes) if boxes else None
    return {"box_file": bool(boxes), "counts": counts, "test_sources": test_sources, "inference": check}


def main(argv: list[str] | None = None) -> None:
    import sys

    from core import cli, paths
    from core.artifacts import PROVENANCE_FILE
    from core.files import write_json

    parser = cli.parser("Write each image's source collection (artifacts/provenance.json).", models=False)
    parser.add_argument("--boxes", help=f"tumour-box CSV (default: ${BOXES_ENV_VAR} or <data>-boxes.csv)")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    data_dir = paths.data_dir(args.data)
    boxes = read_boxes(boxes_path(data_dir, args.boxes))
    if not boxes:
        print("no tumour-box file: only the class tells the sources apart", file=sys.stderr)
    result = summary(data_dir, boxes)
    write_json(Path(args.artifacts) / PROVENANCE_FILE, result)
    for split, by_source in result["counts"].items():
        print(split, {source: sum(by_class.values()) for source, by_class in by_source.items()})


if __name__ == "__main__":
    from core.cli import run

    run(main)
