"""Sources: which collection each image comes from, and how well the content alone tells.

Writes artifacts/provenance.json (`python -m core sources`): images per split, source and class,
each test image's source, and how well a classifier on the files' content alone (colour or grey,
size, a thumbnail) finds figshare's tumour slices. core.data.provenance reads the box file.
"""

import sys
from pathlib import Path

import numpy as np

from core import cli, paths
from core.artifacts import PROVENANCE_FILE
from core.data.dataset import CLASS_NAMES, NOTUMOR, TEST_SPLIT, TRAIN_SPLIT, Sample, find_samples
from core.data.decode import decode_image
from core.data.imagefile import ImageError
from core.data.provenance import Box, boxes_path, read_boxes, sources
from core.files import write_json

INFERENCE_SIDE = 32  # the thumbnail the content-based inference looks at


def content_features(samples: list[Sample]) -> np.ndarray:
    """(N, F) what a file carries without a record of its origin: stored in colour or grey, file
    size, a 32x32 grey thumbnail and its 16-bin histogram. Unreadable files give zeros."""
    from PIL import Image

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
    parser = cli.parser(
        "Write each image's source collection (artifacts/provenance.json).", models=False, boxes=True
    )
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
    cli.run(main)
