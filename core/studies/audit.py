"""Leakage audit: exact and near-duplicate images between Training and Testing, and within each.

CLI: python -m core audit [--data DIR] [--artifacts DIR]  -> artifacts/audit.json

Duplicates are found as core.data.duplicates defines them (SHA-256 of the file; standardised
grayscale thumbnails within NEAR_DUPLICATE_DISTANCE). The audit also measures the validation
split: how many validation images have a near duplicate among the images training fits on,
for an image-by-image split and for the grouped split training uses.
"""

from pathlib import Path

import numpy as np
import pandas as pd

from core import artifacts, cli, paths
from core.data import provenance, subsets
from core.data.dataset import (
    CLASS_NAMES,
    CLASS_TITLES,
    TEST_SPLIT,
    TRAIN_SPLIT,
    Sample,
    find_samples,
    fingerprint,
    split_validation,
)
from core.data.duplicates import (
    NEAR_DUPLICATE_DISTANCE,
    THUMBNAIL_SIDE,
    distances,
    leak,
    near_pairs,
    signatures,
    validation_split,
)
from core.data.subsets import clean_test_paths
from core.evaluation.evaluate import metrics_from_predictions
from core.files import write_json
from core.models.config import SPLIT_SEED, VALIDATION_FRACTION


def _pairs_within(samples: list[Sample], hashes: list[str], thumbnails: np.ndarray, threshold: float) -> dict:
    """Exact and near-duplicate pairs inside one split, and those whose labels disagree."""
    pairs = near_pairs(thumbnails, threshold)
    return {
        "exact_pairs": sum(hashes[i] == hashes[j] for i, j, _ in pairs),
        "near_pairs": len(pairs),
        "label_conflicts": [
            _pair(samples[i], samples[j], distance)
            for i, j, distance in pairs
            if samples[i].label != samples[j].label
        ],
    }


def _pair(a: Sample, b: Sample, distance: float) -> dict:
    return {
        "a": a.relpath,
        "b": b.relpath,
        "a_label": CLASS_NAMES[a.label],
        "b_label": CLASS_NAMES[b.label],
        "distance": round(float(distance), 4),
    }


def audit(data_dir: Path, threshold: float = NEAR_DUPLICATE_DISTANCE) -> dict:
    """Duplicates between and within the splits of the dataset at `data_dir`.

    Returns:
        A JSON-ready dict: the method, per-class counts of test images with an exact or near
        duplicate in Training, the nearest training image of every test image, pairs whose
        labels disagree, and within-split counts.

    Raises:
        DatasetError: the dataset folder is missing or malformed.
    """
    train_all, test_all = find_samples(data_dir, TRAIN_SPLIT), find_samples(data_dir, TEST_SPLIT)
    train, train_hashes, train_thumbs, train_skipped = signatures(train_all)
    test, test_hashes, test_thumbs, test_skipped = signatures(test_all)

    train_hash_set = set(train_hashes)
    nearest, nearest_distance = np.zeros(len(test), int), np.zeros(len(test))
    for start in range(0, len(test), 512):
        block = distances(test_thumbs[start : start + 512], train_thumbs)
        nearest[start : start + 512] = block.argmin(axis=1)
        nearest_distance[start : start + 512] = block.min(axis=1)

    test_images = [
        {
            "path": sample.relpath,
            "label": CLASS_NAMES[sample.label],
            "nearest_train": train[nearest[i]].relpath,
            "nearest_train_label": CLASS_NAMES[train[nearest[i]].label],
            "distance": round(float(nearest_distance[i]), 4),
            "exact": test_hashes[i] in train_hash_set,
            "near": bool(nearest_distance[i] <= threshold) or test_hashes[i] in train_hash_set,
        }
        for i, sample in enumerate(test)
    ]
    per_class = {
        name: {
            "test_images": sum(t["label"] == name for t in test_images),
            "exact": sum(t["label"] == name and t["exact"] for t in test_images),
            "near": sum(t["label"] == name and t["near"] for t in test_images),
        }
        for name in CLASS_NAMES
    }
    return {
        "method": {
            "exact": "SHA-256 of the file",
            "near": f"RMS distance of standardised {THUMBNAIL_SIDE}x{THUMBNAIL_SIDE} grayscale thumbnails",
            "threshold": threshold,
        },
        "dataset": {
            "train_fingerprint": fingerprint(train_all),
            "test_fingerprint": fingerprint(test_all),
            "train_images": len(train),
            "test_images": len(test),
            "skipped": train_skipped + test_skipped,
        },
        "test_vs_train": {
            "exact": sum(c["exact"] for c in per_class.values()),
            "near": sum(c["near"] for c in per_class.values()),
            "per_class": per_class,
            "label_conflicts": [
                _pair(test[i], train[nearest[i]], nearest_distance[i])
                for i, t in enumerate(test_images)
                if t["near"] and t["label"] != t["nearest_train_label"]
            ],
        },
        "within": {
            TRAIN_SPLIT: _pairs_within(train, train_hashes, train_thumbs, threshold),
            TEST_SPLIT: _pairs_within(test, test_hashes, test_thumbs, threshold),
        },
        "validation_split": validation_leak(train_all),
        "test_images": test_images,
    }


def validation_leak(samples: list[Sample]) -> dict:
    """Validation images with a near duplicate in the fitted part: image-by-image vs grouped split."""
    try:
        splits = {
            "by image": split_validation(samples, VALIDATION_FRACTION, SPLIT_SEED),
            "grouped": validation_split(samples, VALIDATION_FRACTION, SPLIT_SEED),
        }
    except ValueError:  # too few images per class to hold a validation split out
        return {}
    return {name: leak(fit, validation) for name, (fit, validation) in splits.items()}


def per_class_table(result: dict) -> pd.DataFrame:
    """Per class (its title): test images, and how many have the same file or a near duplicate in Training."""
    return pd.DataFrame(
        [
            {
                "class": CLASS_TITLES[name],
                "test images": counts["test_images"],
                "same file in Training": counts["exact"],
                "near duplicate (incl. same file)": counts["near"],
            }
            for name, counts in result["test_vs_train"]["per_class"].items()
        ]
    )


def subset_metrics(tables: dict[str, pd.DataFrame], result: dict, titles: dict[str, str]) -> pd.DataFrame:
    """Each model's accuracy and macro F1 on the full test set, the clean subset and the rest.

    Macro F1 is left out for a subset that lacks a class (the duplicated part has no glioma).

    Args:
        tables: model name -> its predictions table (artifacts.load_predictions).
    """
    clean = set(clean_test_paths(result))
    rows = []
    for name, table in tables.items():
        in_clean = table["path"].isin(clean)
        for subset, part in (("full", table), ("clean", table[in_clean]), ("duplicated", table[~in_clean])):
            metrics = metrics_from_predictions(part) if len(part) else None
            every_class = part["true_label"].nunique() == len(CLASS_NAMES)  # else macro F1 misleads
            rows.append(
                {
                    "model": titles[name],
                    "subset": subset,
                    "images": len(part),
                    "accuracy": metrics.accuracy if metrics else None,
                    "macro F1": metrics.macro_f1 if metrics and every_class else None,
                }
            )
    return pd.DataFrame(rows)


def validation_leak_table(result: dict) -> pd.DataFrame | None:
    """Validation images with a near duplicate in the fitted part, per way of splitting; None for
    an audit without the measure (written before it, or of a dataset too small to split)."""
    if not result.get("validation_split"):
        return None
    return pd.DataFrame(
        [
            {
                "split": "grouped by duplicate (training's)" if name == "grouped" else "image by image",
                "validation images": counts["validation_images"],
                "with a near duplicate in the fitted part": counts["near"],
                "share": counts["near"] / max(counts["validation_images"], 1),
            }
            for name, counts in result["validation_split"].items()
        ]
    )


def pairs(result: dict, kind: str) -> pd.DataFrame:
    """Test images with their nearest training image, of one kind, closest first.

    Args:
        kind: "exact" (same bytes), "near" (near duplicates that are not exact copies) or
            "closest other" (the closest pairs above the threshold, to judge it by eye).
    """
    table = pd.DataFrame(result["test_images"])
    masks = {
        "exact": table["exact"],
        "near": table["near"] & ~table["exact"],
        "closest other": ~table["near"],
    }
    if kind not in masks:
        raise ValueError(f"kind must be one of {list(masks)}, not {kind!r}")
    return table[masks[kind]].sort_values("distance")


WHY = (
    "A test image that also sits in Training, byte for byte or nearly, tests memory, not "
    "generalisation: a model may answer it from the training image. The clean subset is the test "
    "images with no near duplicate in Training. Its class mix differs from the full set's (per "
    "class, below), so compare the models on it, not a model's clean figure with its full one."
)  # why the audit matters, as the audit page and the report say it

# What the audit page and the report's leakage section both say, written once.
PATIENT_CAVEAT = (
    "*Clean* is decided image by image, not patient by patient: the dataset names no patients, so a "
    "clean test slice may still have a neighbouring slice of the same patient in Training. The clean "
    "subset removes the leak that can be seen, not all of it."
)
CLEAN_SUBSET_HEADING = "Each model on the clean subset"
VALIDATION_HEADING = "The validation split"
LABEL_CONFLICTS_HEADING = "Labels the collections disagree on"
LABEL_CONFLICTS_SENTENCE = (
    f"{len(provenance.LABEL_CONFLICTS)} slices of the figshare collection, labelled *meningioma* there, "
    "are filed under *pituitary* in the Kaggle release (found by matching thumbnails; the tumour-box "
    "file leaves them out)."
)  # Markdown


def within_sentence(result: dict) -> str:
    """The duplicate pairs inside Training and inside Testing, and the pairs whose labels disagree.

    Args:
        result: the audit (artifacts.load_audit).

    Returns:
        One Markdown sentence, e.g. "Duplicates inside a split: **120** near-duplicate pairs in
        Training (80 identical files), ...".
    """
    training, testing = result["within"][TRAIN_SPLIT], result["within"][TEST_SPLIT]
    summary = subsets.AuditSummary.from_json(result)
    return (
        f"Duplicates inside a split: **{training['near_pairs']:,}** near-duplicate pairs in Training "
        f"({training['exact_pairs']:,} identical files), **{testing['near_pairs']:,}** in Testing "
        f"({testing['exact_pairs']:,} identical). Pairs whose labels disagree: "
        f"**{summary.conflicts_between}** between the splits, **{summary.conflicts_within}** within."
    )


def method_sentence(result: dict) -> str:
    """How the audit (artifacts.load_audit) matched images: exact, near, and the near threshold."""
    method = result["method"]
    return f"Exact: {method['exact']}. Near: {method['near']}, at most {method['threshold']}."


def leak_status(row: dict) -> str:
    """One test image's entry of the audit (result["test_images"]) in words."""
    if row["exact"]:
        return "the same file as a training image: leaked"
    if row["near"]:
        return f"a near duplicate of a training image (distance {row['distance']:.3f}): leaked"
    return f"no near duplicate in Training (the closest is {row['distance']:.3f} away): in the clean subset"


def main(argv: list[str] | None = None) -> None:
    args = cli.parser(__doc__.splitlines()[0], models=False).parse_args(argv)
    result = audit(paths.data_dir(args.data))
    root = Path(args.artifacts)
    root.mkdir(parents=True, exist_ok=True)
    write_json(root / artifacts.AUDIT_FILE, result)
    summary = subsets.AuditSummary.from_json(result)
    print(
        f"{summary.exact} of {summary.test_images} test images are byte-identical to a training image, "
        f"{summary.near} ({summary.near_share:.0%}) have a near duplicate there; "
        f"{summary.clean} form the clean subset. Written to {root / artifacts.AUDIT_FILE}"
    )
    for name, c in result["test_vs_train"]["per_class"].items():
        print(f"  {name:<11} {c['test_images']:>4} test {c['exact']:>4} exact {c['near']:>4} near")
    for split, counts in result["validation_split"].items():
        near, total = counts["near"], counts["validation_images"]
        print(f"Validation split {split}: {near} of {total} ({near / max(total, 1):.0%}) near-duplicated")


if __name__ == "__main__":
    cli.run(main)
