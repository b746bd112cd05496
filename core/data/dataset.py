"""Find and split the Kaggle Brain Tumor MRI Dataset (core.data.decode decodes its images).

Layout: <data>/Training/<class>/*.jpg and <data>/Testing/<class>/*.jpg, where <class> is
glioma, meningioma, notumor or pituitary (or the older names glioma_tumor, meningioma_tumor,
no_tumor, pituitary_tumor). Hidden files and folders are not samples.
"""

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from core.data.imagefile import DATASET_SUFFIXES

if TYPE_CHECKING:
    from collections.abc import Iterable

    import numpy as np

CLASS_NAMES = ("glioma", "meningioma", "notumor", "pituitary")
CLASS_TITLES = {  # how every page writes the class names
    "glioma": "Glioma",
    "meningioma": "Meningioma",
    "notumor": "No tumor",
    "pituitary": "Pituitary",
}
CLASS_ALIASES = {
    "glioma_tumor": "glioma",
    "meningioma_tumor": "meningioma",
    "no_tumor": "notumor",
    "pituitary_tumor": "pituitary",
}
CLASS_INDEX = {name: i for i, name in enumerate(CLASS_NAMES)}  # label -> class index
NOTUMOR = CLASS_INDEX["notumor"]  # the one class that is not a tumour
TUMOUR = "tumour"  # a tumour of any class: the three tumour classes together, against "notumor"
LABEL_TITLES = CLASS_TITLES | {TUMOUR: "Tumour"}  # how pages write a label, "tumour" included
PROBABILITY_COLUMNS = [f"prob_{name}" for name in CLASS_NAMES]  # in predictions.csv
TRAIN_SPLIT, TEST_SPLIT = "Training", "Testing"


def class_indices(labels: "Iterable[str]") -> "np.ndarray":
    """Class names -> their indices in CLASS_NAMES, e.g. a predictions table's label column.

    Raises:
        KeyError: a label that is not a class name.
    """
    import numpy as np

    return np.array([CLASS_INDEX[label] for label in labels], dtype=np.int64)


class DatasetError(ValueError):
    """The dataset folder is missing or not in the expected layout."""


@dataclass(frozen=True)
class Sample:
    path: Path  # absolute path of the image file
    relpath: str  # path relative to the dataset root, e.g. "Testing/glioma/Te-gl_0010.jpg"
    label: int  # index into CLASS_NAMES


def _is_hidden(path: Path) -> bool:
    return path.name.startswith(".")


def find_samples(data_dir: Path, split: str) -> list[Sample]:
    """All image files of one split, sorted by path.

    Raises:
        DatasetError: the split folder or a class folder is missing, or a class has no images.
    """
    data_dir = Path(data_dir)
    split_dir = data_dir / split
    if not split_dir.is_dir():
        raise DatasetError(
            f"dataset folder not found: {split_dir} (expected {data_dir}/{split}/<class>/; "
            "pass --data DIR or set BRAIN_MRI_DATA)"
        )
    class_dirs: dict[str, Path] = {}
    for child in sorted(split_dir.iterdir()):
        name = CLASS_ALIASES.get(child.name, child.name)
        if child.is_dir() and not _is_hidden(child) and name in CLASS_NAMES:
            class_dirs[name] = child
    missing = [name for name in CLASS_NAMES if name not in class_dirs]
    if missing:
        raise DatasetError(f"class folder(s) {', '.join(missing)} missing in {split_dir}")

    samples = []
    for label, name in enumerate(CLASS_NAMES):
        files = sorted(
            path
            for path in class_dirs[name].iterdir()
            if path.is_file() and not _is_hidden(path) and path.suffix.lower() in DATASET_SUFFIXES
        )
        if not files:
            raise DatasetError(f"no images in class folder {class_dirs[name]}")
        samples += [Sample(p, p.relative_to(data_dir).as_posix(), label) for p in files]
    return samples


def fingerprint(samples: list[Sample]) -> str:
    """A short hash of the file list and sizes: changes when any file is added, removed or edited."""
    digest = hashlib.sha256()
    for sample in sorted(samples, key=lambda s: s.relpath):
        digest.update(f"{sample.relpath}\t{sample.path.stat().st_size}\n".encode())
    return digest.hexdigest()[:16]


def split_validation(
    samples: list[Sample], fraction: float, seed: int, groups: "np.ndarray | None" = None
) -> tuple[list[Sample], list[Sample]]:
    """A seeded split of `samples` into (train, validation), stratified by class.

    Args:
        groups: (N,) group ids (core.data.duplicates): a group never straddles the two parts, and
            validation holds about `fraction` of the samples (one of round(1 / fraction) folds,
            fewer where a class has fewer samples).
            None splits image by image.
    """
    from sklearn.model_selection import StratifiedGroupKFold, train_test_split

    labels = [s.label for s in samples]
    if groups is None:
        train, val = train_test_split(samples, test_size=fraction, random_state=seed, stratify=labels)
    else:
        smallest_class = min(labels.count(label) for label in set(labels))  # every fold needs each class
        n_splits = max(2, min(round(1 / fraction), smallest_class))
        folds = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=seed)
        train_index, val_index = next(folds.split(samples, labels, groups))
        train, val = [samples[i] for i in train_index], [samples[i] for i in val_index]
    return sorted(train, key=lambda s: s.relpath), sorted(val, key=lambda s: s.relpath)
