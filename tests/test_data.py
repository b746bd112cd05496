import pytest

from conftest import make_scan, write_dataset
from core.data.dataset import (
    CLASS_NAMES,
    TEST_SPLIT,
    TRAIN_SPLIT,
    DatasetError,
    find_samples,
    fingerprint,
    split_validation,
)


def test_finds_every_image_with_its_label(dataset_dir):
    samples = find_samples(dataset_dir, TRAIN_SPLIT)
    assert len(samples) == 6 * len(CLASS_NAMES)
    assert [s.label for s in samples] == sorted(s.label for s in samples)
    first = samples[0]
    assert first.relpath == "Training/glioma/000.jpg"
    assert first.path == dataset_dir / first.relpath


def test_hidden_files_and_folders_are_not_samples(dataset_dir):
    glioma = dataset_dir / TEST_SPLIT / "glioma"
    (glioma / ".DS_Store").write_bytes(b"\x00\x01")
    (glioma / ".ipynb_checkpoints").mkdir()
    make_scan(0, 1).save(glioma / ".ipynb_checkpoints" / "copy.jpg")
    make_scan(0, 1).save(glioma / ".hidden.jpg")
    (glioma / "notes.txt").write_text("not an image")
    samples = find_samples(dataset_dir, TEST_SPLIT)
    assert len(samples) == 24
    assert not any("/." in s.relpath or s.relpath.endswith(".txt") for s in samples)


def test_older_class_folder_names_are_accepted(tmp_path):
    old_names = ("glioma_tumor", "meningioma_tumor", "no_tumor", "pituitary_tumor")
    root = write_dataset(tmp_path / "old", per_class=2, class_dirs=old_names)
    samples = find_samples(root, TRAIN_SPLIT)
    assert sorted({s.label for s in samples}) == [0, 1, 2, 3]
    assert samples[-1].relpath.startswith("Training/pituitary_tumor/")


@pytest.mark.parametrize(
    "breakage, message",
    [
        (lambda root: __import__("shutil").rmtree(root / TRAIN_SPLIT), "dataset folder not found"),
        (lambda root: __import__("shutil").rmtree(root / TRAIN_SPLIT / "notumor"), "notumor missing"),
        (
            lambda root: [p.unlink() for p in (root / TRAIN_SPLIT / "pituitary").iterdir()],
            "no images in class folder",
        ),
    ],
    ids=["missing split", "missing class", "empty class"],
)
def test_bad_layouts_name_the_path(dataset_dir, breakage, message):
    breakage(dataset_dir)
    with pytest.raises(DatasetError, match=message) as error:
        find_samples(dataset_dir, TRAIN_SPLIT)
    assert str(dataset_dir) in str(error.value)


def test_validation_split_is_seeded_stratified_and_disjoint(tmp_path):
    samples = find_samples(write_dataset(tmp_path / "d", per_class=20), TRAIN_SPLIT)
    train, val = split_validation(samples, fraction=0.25, seed=3)
    assert split_validation(samples, fraction=0.25, seed=3) == (train, val)
    assert split_validation(samples, fraction=0.25, seed=4) != (train, val)
    assert not {s.relpath for s in train} & {s.relpath for s in val}
    assert len(train) + len(val) == len(samples)
    assert [sum(s.label == c for s in val) for c in range(4)] == [5, 5, 5, 5]


def test_fingerprint_changes_when_a_file_changes(dataset_dir):
    before = fingerprint(find_samples(dataset_dir, TEST_SPLIT))
    assert fingerprint(find_samples(dataset_dir, TEST_SPLIT)) == before
    make_scan(1, 99, size=64).save(dataset_dir / TEST_SPLIT / "glioma" / "000.jpg")
    assert fingerprint(find_samples(dataset_dir, TEST_SPLIT)) != before
