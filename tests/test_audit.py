import io
import shutil

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from core import artifacts
from core.data import subsets
from core.data.dataset import CLASS_NAMES, PROBABILITY_COLUMNS, TEST_SPLIT, TRAIN_SPLIT
from core.studies import audit


def distinct_scan(seed: int) -> Image.Image:
    """A 64 px grayscale image of random 8x8 blocks: unrelated to any other seed's."""
    blocks = np.random.default_rng(seed).integers(0, 256, (8, 8), dtype=np.uint8)
    return Image.fromarray(blocks).resize((64, 64), Image.Resampling.NEAREST)


@pytest.fixture
def leaky_dataset(tmp_path):
    """3 distinct images per class and split, then three test images copied from Training."""
    root = tmp_path / "data"
    for s, split in enumerate((TRAIN_SPLIT, TEST_SPLIT)):
        for label, name in enumerate(CLASS_NAMES):
            (root / split / name).mkdir(parents=True)
            for i in range(3):
                distinct_scan(1000 * s + 10 * label + i).save(root / split / name / f"{i}.png")
    train = root / TRAIN_SPLIT
    # The same file; a brighter, re-compressed, resized copy; and a same-file copy under another label.
    shutil.copy(train / "glioma" / "0.png", root / TEST_SPLIT / "glioma" / "copy.png")
    brighter = Image.open(train / "meningioma" / "1.png").point(lambda v: min(255, int(v * 0.8) + 30))
    buffer = io.BytesIO()
    brighter.resize((100, 100)).save(buffer, format="JPEG", quality=90)
    (root / TEST_SPLIT / "meningioma" / "bright.jpg").write_bytes(buffer.getvalue())
    shutil.copy(train / "pituitary" / "2.png", root / TEST_SPLIT / "notumor" / "relabelled.png")
    return root


def test_finds_exact_and_near_copies_and_label_conflicts(leaky_dataset):
    result = audit.audit(leaky_dataset)
    summary = result["test_vs_train"]
    assert summary["exact"] == 2 and summary["near"] == 3
    assert summary["per_class"]["meningioma"] == {"test_images": 4, "exact": 0, "near": 1}
    assert summary["label_conflicts"] == [
        {"a": "Testing/notumor/relabelled.png", "b": "Training/pituitary/2.png",
         "a_label": "notumor", "b_label": "pituitary", "distance": 0.0}
    ]  # fmt: skip
    bright = next(t for t in result["test_images"] if t["path"].endswith("bright.jpg"))
    assert bright["nearest_train"] == "Training/meningioma/1.png"
    assert 0 < bright["distance"] <= audit.NEAR_DUPLICATE_DISTANCE
    assert len(subsets.clean_test_paths(result)) == 12
    assert result["within"][TRAIN_SPLIT]["near_pairs"] == 0
    assert result["within"][TEST_SPLIT]["near_pairs"] == 0


def test_duplicates_inside_a_split_are_counted(leaky_dataset):
    shutil.copy(
        leaky_dataset / TRAIN_SPLIT / "glioma" / "1.png", leaky_dataset / TRAIN_SPLIT / "notumor" / "x.png"
    )
    within = audit.audit(leaky_dataset)["within"][TRAIN_SPLIT]
    assert within["exact_pairs"] == 1 and within["near_pairs"] == 1
    assert within["label_conflicts"][0]["a_label"] != within["label_conflicts"][0]["b_label"]


def test_unreadable_files_are_listed_not_fatal(leaky_dataset):
    (leaky_dataset / TEST_SPLIT / "glioma" / "broken.jpg").write_bytes(b"not a jpeg")
    result = audit.audit(leaky_dataset)
    assert result["dataset"]["skipped"] == ["Testing/glioma/broken.jpg"]
    assert result["dataset"]["test_images"] == 15


def test_cli_writes_the_audit_artifact(leaky_dataset, tmp_path, capsys):
    audit.main(["--data", str(leaky_dataset), "--artifacts", str(tmp_path / "out")])
    assert artifacts.load_audit(tmp_path / "out")["test_vs_train"]["exact"] == 2
    assert "2 of 15 test images are byte-identical" in capsys.readouterr().out


def test_subset_metrics_split_the_test_set_by_leakage():
    result = {
        "test_images": [
            {"path": p, "near": near, "exact": False}
            for p, near in [("a", False), ("b", False), ("c", False), ("d", False), ("e", True)]
        ]
    }
    truth = ["glioma", "meningioma", "notumor", "pituitary", "notumor"]
    predicted = [0, 1, 2, 0, 2]  # the fourth is wrong; the duplicated one is right
    table = pd.DataFrame({"path": list("abcde"), "true_label": truth})
    table[PROBABILITY_COLUMNS] = np.eye(4)[predicted]
    rows = audit.subset_metrics({"m": table}, result, {"m": "M"}).set_index("subset")
    assert rows.loc["full", "accuracy"] == pytest.approx(4 / 5)
    assert rows.loc["clean", "accuracy"] == pytest.approx(3 / 4) and rows.loc["clean", "images"] == 4
    assert rows.loc["duplicated", "accuracy"] == 1.0
    assert pd.isna(rows.loc["duplicated", "macro F1"])  # one class only: macro F1 would mislead


def test_pairs_sorts_closest_first_and_rejects_unknown_kinds():
    result = {
        "test_images": [
            {"path": "a", "distance": 0.3, "near": False, "exact": False},
            {"path": "b", "distance": 0.05, "near": True, "exact": False},
            {"path": "c", "distance": 0.2, "near": False, "exact": False},
        ]
    }
    assert audit.pairs(result, "closest other")["path"].tolist() == ["c", "a"]
    assert audit.pairs(result, "near")["path"].tolist() == ["b"]
    with pytest.raises(ValueError, match="kind"):
        audit.pairs(result, "similar")


def test_at_its_own_threshold_the_audit_redraws_itself_and_a_wider_one_takes_more(leaky_dataset):
    result = audit.audit(leaky_dataset)
    same = subsets.at_threshold(result, audit.NEAR_DUPLICATE_DISTANCE)
    assert same == result
    wider = subsets.at_threshold(result, 10.0)  # every test image is this close to some training image
    assert wider["test_vs_train"]["near"] == len(result["test_images"]) and not subsets.clean_test_paths(
        wider
    )
    assert wider["test_vs_train"]["per_class"]["glioma"] == {"test_images": 4, "exact": 1, "near": 4}
    assert len(wider["test_vs_train"]["label_conflicts"]) >= 1
    assert (
        wider["method"]["threshold"] == 10.0
        and result["method"]["threshold"] == audit.NEAR_DUPLICATE_DISTANCE
    )
    none = subsets.at_threshold(result, 0.0)  # exact copies stay leaked at any threshold
    assert sorted(subsets.AuditSummary.from_json(none).parts.values()) == [0, 2, 13]
