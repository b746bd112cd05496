"""Two models on the same images: subsets, bootstrap intervals, McNemar, the plain reading."""

import pandas as pd
import pytest
from test_compare import table

from core.data.dataset import CLASS_NAMES
from core.evaluation import compare, paired


def test_paired_summary_and_its_reading_on_a_known_case():
    # 40 images, 10 per class; a is right on all, b misses 8 glioma images.
    labels = [cls for cls in CLASS_NAMES for _ in range(10)]
    a_labels = list(labels)
    b_labels = ["meningioma"] * 8 + labels[8:]
    rows = {
        name: table(
            [(str(i), true, predicted, 0.9) for i, (true, predicted) in enumerate(zip(labels, answers))]
        )
        for name, answers in (("a", a_labels), ("b", b_labels))
    }
    joined = compare.joined_predictions(rows)
    summary = paired.paired_summary(joined, ["b", "a"])  # b first: the reading still leads with a
    test = summary.mcnemar
    assert (test.both_right, test.only_a_right, test.only_b_right, test.both_wrong) == (32, 0, 8, 0)
    assert test.p_value == pytest.approx(2 * 0.5**8)
    assert summary.difference.accuracy.estimate == pytest.approx(-8 / 40)  # b minus a
    agreement = paired.agreement_table(test, "B", "A")
    assert agreement.loc["B wrong", "A right"] == 8 and agreement.loc["B right", "A wrong"] == 0
    assert agreement.loc["B right", "A right"] == 32
    glioma = summary.per_class.set_index("class").loc["glioma"]
    assert (glioma["a"], glioma["b"], glioma["difference"]) == pytest.approx((1.0, 0.2, -0.8))
    text = paired.paired_reading(summary, {"a": "Model A", "b": "Model B"})
    assert text.startswith("On these 40 images **Model A** is more accurate by 20.0 points")
    assert "right on 8 images where Model B is wrong" in text and "p = 0.008" in text
    assert "unlikely to be chance" in text
    assert summary.names == ("b", "a") and summary.n_images == 40
    assert summary.intervals["a"].accuracy.estimate == 1.0 and summary.intervals["b"].macro_f1.low < 1.0


def test_restrict_keeps_only_the_listed_images():
    table = pd.DataFrame({"path": ["x", "y", "z"]})
    assert paired.restrict(table, {"x", "z"})["path"].tolist() == ["x", "z"]
    assert paired.restrict(table, None) is table
