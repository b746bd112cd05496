"""Near-duplicate groups and the grouped validation split."""

import io
import shutil

import pytest
from PIL import Image

from conftest import write_dataset
from core.data import duplicates
from core.data.dataset import CLASS_NAMES, TRAIN_SPLIT, find_samples, split_validation


@pytest.fixture
def leaky_training(tmp_path):
    """20 images per class plus 12 copies under other names (byte-equal, or brightened and
    re-encoded): the dataset and the (original, copy) relpaths."""
    root = write_dataset(tmp_path / "data", per_class=20)
    pairs = []
    for i, name in enumerate(CLASS_NAMES * 3):
        original, copy = f"{TRAIN_SPLIT}/{name}/{i:03d}.jpg", f"{TRAIN_SPLIT}/{name}/copy{i}.jpg"
        if i % 3 == 0:
            shutil.copy(root / original, root / copy)
        else:
            brighter = Image.open(root / original).point(lambda v: min(255, int(v * 0.9) + 20))
            buffer = io.BytesIO()
            brighter.save(buffer, format="JPEG", quality=70 + i)
            (root / copy).write_bytes(buffer.getvalue())
        pairs.append((original, copy))
    return root, pairs


def test_copies_share_a_group_and_distinct_images_do_not(leaky_training):
    root, pairs = leaky_training
    samples = find_samples(root, TRAIN_SPLIT)
    group = dict(zip((s.relpath for s in samples), duplicates.groups(samples)))
    assert all(group[original] == group[copy] for original, copy in pairs)
    assert len(set(group.values())) == len(samples) - len(pairs)


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_the_grouped_split_never_separates_copies(leaky_training, seed):
    root, pairs = leaky_training
    samples = find_samples(root, TRAIN_SPLIT)
    fit, validation = duplicates.validation_split(samples, fraction=0.2, seed=seed)
    part = {s.relpath: "fit" for s in fit} | {s.relpath: "validation" for s in validation}
    assert len(part) == len(samples) == len(fit) + len(validation)
    assert all(part[original] == part[copy] for original, copy in pairs)
    assert duplicates.leak(fit, validation)["near"] == 0
    per_class = [sum(s.label == c for s in validation) for c in range(len(CLASS_NAMES))]
    assert all(3 <= count <= 6 for count in per_class)  # about a fifth of 23 each: stratified


def test_the_image_by_image_split_leaks_where_the_grouped_one_does_not(leaky_training):
    root, _ = leaky_training
    samples = find_samples(root, TRAIN_SPLIT)
    leaks = [duplicates.leak(*split_validation(samples, 0.2, seed))["near"] for seed in range(4)]
    assert max(leaks) > 0
    assert duplicates.validation_split(samples, 0.2, 0) == duplicates.validation_split(samples, 0.2, 0)
