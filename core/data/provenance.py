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
file size, a thumbnail) recovers the figshare images is measured on Testing (core.studies.sources).
"""

import csv
import os
from dataclasses import dataclass
from pathlib import Path

from core.data.dataset import NOTUMOR, Sample

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
