"""Provenance and leave-one-source-out evaluation, on a tiny synthetic dataset."""

import csv
import dataclasses
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import TINY, write_dataset
from core.data import provenance
from core.data.dataset import CLASS_NAMES, TEST_SPLIT, TRAIN_SPLIT, find_samples
from core.studies import crosssource, sources


def write_boxes(data_dir: Path) -> Path:
    """A tumour-box file beside `data_dir` listing the even-numbered tumour images as figshare's."""
    path = provenance.boxes_path(data_dir)
    with path.open("w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["path", "label", "x_center", "y_center", "width", "height", "match_distance"])
        for split in (TRAIN_SPLIT, TEST_SPLIT):
            for name in ("glioma", "meningioma", "pituitary"):
                for i in range(0, 16, 2):
                    writer.writerow([f"{split}/{name}/{i:03d}.jpg", name, 0.5, 0.5, 0.3, 0.3, 0.01])
    return path


@pytest.fixture
def boxed_dataset(tmp_path: Path) -> Path:
    data_dir = write_dataset(tmp_path / "data", per_class=16)
    write_boxes(data_dir)
    return data_dir


def test_the_box_file_is_found_beside_the_dataset_unless_a_flag_or_variable_says(tmp_path, monkeypatch):
    monkeypatch.delenv(provenance.BOXES_ENV_VAR, raising=False)
    assert provenance.boxes_path(tmp_path / "brain-tumor-mri") == tmp_path / "brain-tumor-mri-boxes.csv"
    monkeypatch.setenv(provenance.BOXES_ENV_VAR, str(tmp_path / "env.csv"))
    assert provenance.boxes_path(tmp_path / "d") == tmp_path / "env.csv"
    assert provenance.boxes_path(tmp_path / "d", tmp_path / "flag.csv") == tmp_path / "flag.csv"
    assert provenance.read_boxes(tmp_path / "missing.csv") == {}


def test_sources_follow_the_box_file_and_the_class(boxed_dataset):
    boxes = provenance.read_boxes(provenance.boxes_path(boxed_dataset))
    samples = find_samples(boxed_dataset, TRAIN_SPLIT)
    by_path = dict(zip((s.relpath for s in samples), provenance.sources(samples, boxes)))
    assert by_path["Training/glioma/000.jpg"] == provenance.FIGSHARE
    assert by_path["Training/glioma/001.jpg"] == provenance.SARTAJ
    assert by_path["Training/notumor/000.jpg"] == provenance.NO_TUMOUR_COLLECTIONS
    assert provenance.source_of(samples[0], {}) == provenance.UNKNOWN  # no box file: unknown


def test_a_fold_trains_without_its_collection_and_tests_on_all_of_it(boxed_dataset):
    boxes = provenance.read_boxes(provenance.boxes_path(boxed_dataset))
    train, test = find_samples(boxed_dataset, TRAIN_SPLIT), find_samples(boxed_dataset, TEST_SPLIT)
    kept, held, other_test = crosssource.fold_samples(provenance.SARTAJ, train, test, boxes)
    assert {provenance.source_of(s, boxes) for s in held} == {provenance.SARTAJ}
    assert len(held) == 2 * 3 * 8  # both splits, three tumour classes, the odd-numbered half
    assert not {s.relpath for s in held} & {s.relpath for s in kept + other_test}
    assert any(s.label == provenance.NOTUMOR for s in kept)  # the no-tumour slices stay in


def test_the_summary_counts_tumour_recall_and_the_confusion():
    names = list(CLASS_NAMES)
    summary = crosssource.fold_summary(fold_table(), threshold=5.0)
    assert summary["tumour_recall"]["estimate"] == 0.5  # two of four held-out tumours called a tumour
    assert summary["accuracy"]["estimate"] == 0.25
    assert summary["in_source_accuracy"]["estimate"] == 0.5
    confusion = np.array(summary["confusion"])
    assert confusion.sum() == 4 and confusion[names.index("glioma"), names.index("notumor")] == 1
    interval = summary["tumour_recall"]
    assert interval["low"] <= interval["estimate"] <= interval["high"]


def fold_table(
    predicted: tuple[str, ...] = ("glioma", "notumor", "glioma", "notumor", "notumor", "meningioma"),
):
    """Four held-out images (two tumours called no tumor) and two in-source ones."""
    return pd.DataFrame(
        {
            "path": [f"{i}.jpg" for i in range(6)],
            "part": ["held_out"] * 4 + ["in_source"] * 2,
            "true_label": ["glioma", "glioma", "meningioma", "pituitary", "notumor", "glioma"],
            "predicted_label": list(predicted),
            "ood_score": [1.0, 9.0, 1.0, 2.0, 9.0, 1.0],
        }
    )


def test_each_warning_rule_counts_what_it_catches_and_its_false_alarms():
    table = fold_table()
    other = fold_table(("glioma", "notumor", "glioma", "pituitary", "glioma", "meningioma"))
    doubted = np.array([False, False, False, False, True, False])
    found = crosssource.warnings(table, 5.0, other, doubted)
    assert found["missed_tumours"] == 2 and found["in_source_right"] == 1  # the no-tumour slice
    assert found["guard"] == {"caught": 1, "false_alarms": 1}  # image 1 caught; image 4 scores 9
    assert found["guard or disagreement"] == {"caught": 2, "false_alarms": 1}  # image 3 disputed
    assert found["nearest training images"] == {"caught": 0, "false_alarms": 1}
    assert found["any"] == {"caught": 2, "false_alarms": 1}


def test_the_command_writes_every_fold_for_the_model(boxed_dataset, tmp_path, monkeypatch, tiny_net):
    monkeypatch.setenv("BRAIN_MRI_MAX_EPOCHS", "1")
    out = tmp_path / "artifacts"
    argv = ["--model", "custom_cnn", "--data", str(boxed_dataset), "--artifacts", str(out), "--no-cache"]
    with pytest.raises(SystemExit):  # a recipe change that names no config field trains nothing
        crosssource.main([*argv, "--set", "inversion=0"])
    crosssource.main([*argv, "--set", "intensity_augmentation=true"])
    folder = out / crosssource.RESULTS_DIR / crosssource.CURRENT
    summary = json.loads((folder / crosssource.SUMMARY_FILE).read_text())
    assert set(summary["folds"]) == set(crosssource.FOLDS)
    for fold in crosssource.FOLDS:
        figures = summary["folds"][fold]["models"]["custom_cnn"]
        assert figures["held_out_images"] == 48 and figures["epochs"] == 1
        assert figures["config"]["epochs"] == 1  # the short schedule, capped further here
        assert figures["config"]["intensity_augmentation"]  # the recipe --set named
        assert set(crosssource.SIGNALS) <= set(figures["warnings"])
        table = pd.read_csv(folder / f"{fold}-custom_cnn.csv")
        assert set(table["part"]) == {crosssource.HELD_OUT, crosssource.IN_SOURCE}

    # one more model joins (the tiny one: a registry entry is all a fold needs); the results stay
    crosssource.main(
        ["--model", TINY.name, "--data", str(boxed_dataset), "--artifacts", str(out), "--no-cache"]
    )
    added = json.loads((folder / crosssource.SUMMARY_FILE).read_text())
    for fold in crosssource.FOLDS:
        assert list(added["folds"][fold]["models"]) == ["custom_cnn", TINY.name]  # registry order
        before, after = (s["folds"][fold]["models"]["custom_cnn"] for s in (summary, added))
        assert after["tumour_recall"] == before["tumour_recall"] and after["config"] == before["config"]


def test_a_fold_is_seeded_as_a_training_run_is(boxed_dataset, tiny_net):
    boxes = provenance.read_boxes(provenance.boxes_path(boxed_dataset))
    train, test = find_samples(boxed_dataset, TRAIN_SPLIT), find_samples(boxed_dataset, TEST_SPLIT)
    samples = crosssource.fold_samples(provenance.FIGSHARE, train, test, boxes)
    config = dataclasses.replace(TINY, epochs=2)
    runs = [
        crosssource.run_fold(config, provenance.FIGSHARE, samples, boxes, None, False)[:2] for _ in range(2)
    ]
    pd.testing.assert_frame_equal(runs[0][0], runs[1][0])
    assert runs[0][1] == runs[1][1]


def test_without_a_box_file_the_command_says_so(tmp_path):
    data_dir = write_dataset(tmp_path / "data")
    with pytest.raises(FileNotFoundError, match="tumour-box file not found"):
        crosssource.crosssource(data_dir, tmp_path / "none.csv", tmp_path / "out", ["custom_cnn"], None)


def test_the_content_inference_learns_what_tells_the_collections_apart(tmp_path):
    from PIL import Image

    data_dir = write_dataset(tmp_path / "data", per_class=16)
    boxes = provenance.read_boxes(write_boxes(data_dir))
    for path in data_dir.rglob("*.jpg"):  # here figshare's files are grey, SARTAJ's in colour
        relpath = path.relative_to(data_dir).as_posix()
        if relpath not in boxes:
            Image.open(path).convert("RGB").save(path)
    train, test = find_samples(data_dir, TRAIN_SPLIT), find_samples(data_dir, TEST_SPLIT)
    check = sources.inference_check(train, test, boxes)
    assert check["test_images"] == 48
    assert check["figshare_precision"] == check["figshare_recall"] == 1.0
