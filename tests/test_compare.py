import dataclasses

import pandas as pd
import pytest

from conftest import make_metrics
from core.data.dataset import PROBABILITY_COLUMNS
from core.evaluation import compare
from core.records import ModelFacts


def table(rows: list[tuple[str, str, str, float]]) -> pd.DataFrame:
    """Predictions table from (path, true, predicted, confidence) rows."""
    records = []
    for path, true, predicted, confidence in rows:
        probabilities = {column: (1 - confidence) / 3 for column in PROBABILITY_COLUMNS}
        probabilities[f"prob_{predicted}"] = confidence
        records.append({"path": path, "true_label": true, "predicted_label": predicted, **probabilities})
    return pd.DataFrame(records)


@pytest.fixture
def joined():
    a = table([("1", "glioma", "meningioma", 0.9), ("2", "meningioma", "glioma", 0.6),
               ("3", "glioma", "glioma", 0.8), ("4", "notumor", "pituitary", 0.7)])  # fmt: skip
    b = table([("1", "glioma", "meningioma", 0.5), ("2", "meningioma", "meningioma", 0.9),
               ("3", "glioma", "meningioma", 0.95), ("4", "notumor", "notumor", 0.99)])  # fmt: skip
    return compare.joined_predictions({"a": a, "b": b})


def test_joined_predictions_refuse_different_test_sets():
    a = table([("1", "glioma", "glioma", 0.9), ("2", "notumor", "notumor", 0.9)])
    with pytest.raises(ValueError, match=r"different test images \(a: 2, b: 1\)"):
        compare.joined_predictions({"a": a, "b": a.head(1)})


def test_joined_predictions_has_one_row_per_image(joined):
    assert joined["path"].tolist() == ["1", "2", "3", "4"]
    assert joined["agree"].tolist() == [True, False, False, False]
    assert joined["a_correct"].tolist() == [False, False, True, False]
    assert joined.loc[2, "b_confidence"] == pytest.approx(0.95)


@pytest.mark.parametrize(
    "verdicts, expected",
    [
        ({}, ["3", "1", "2"]),  # sorted by the wrong answer's confidence: .95, .9, .6
        ({"a": "wrong", "b": "wrong"}, ["1"]),
        ({"a": "wrong", "b": "right"}, ["2"]),
        ({"a": "right", "b": "wrong"}, ["3"]),
        ({"a": "right"}, ["3"]),
    ],
)
def test_misclassified_glioma_meningioma_by_verdicts(joined, verdicts, expected):
    pair = ["glioma", "meningioma"]
    cases = compare.matching(compare.misclassified(joined, ["a", "b"], pair, pair), verdicts)
    assert cases["path"].tolist() == expected


def test_misclassified_with_no_filter_keeps_every_mistake(joined):
    assert set(compare.misclassified(joined, ["a", "b"], [], [])["path"]) == {"1", "2", "3", "4"}


@pytest.mark.parametrize(
    "verdicts, message",
    [({"a": "sometimes"}, "verdict for 'a' must be one of"), ({"z": "wrong"}, "no model 'z'")],
)
def test_matching_refuses_bad_verdicts(joined, verdicts, message):
    with pytest.raises(ValueError, match=message):
        compare.matching(compare.misclassified(joined, ["a", "b"], [], []), verdicts)


def test_cell_cases_select_one_confusion_cell(joined):
    assert compare.cell_cases(joined, "b", "glioma", "meningioma")["path"].tolist() == ["3", "1"]
    assert compare.cell_cases(joined, "a", "pituitary", "glioma").empty


def test_headline_and_reading():
    manifest = {"wall_time_s": {"head": 10.0, "fine-tune": 90.0, "evaluation": 5.0, "total": 110.0}}
    fast, fast_size = make_metrics(0.97, 0.96), ModelFacts(2_000_000, 2_000_000, 9.0)
    small, small_size = make_metrics(0.95, 0.94), ModelFacts(900_000, 900_000, 3.0)

    def bench(ms: float) -> dict:
        return {"timings_ms": {"litert_fp32_batch_1": {"median_ms": ms, "p95_ms": ms + 1}}}

    assert compare.headline(fast, fast_size, manifest).ms_per_image is None  # not benchmarked
    text = compare.cards_sentence(
        {
            "a": compare.headline(fast, fast_size, manifest),
            "b": compare.headline(small, small_size, manifest),
        },
        {"a": "A", "b": "B"},
        False,
    )
    assert text.startswith("B is the smaller network (0.9 M parameters). ")
    headlines = {
        "a": compare.headline(fast, fast_size, manifest, bench(20.0)),
        "b": compare.headline(small, small_size, manifest, bench(5.0)),
    }
    assert headlines["a"].training_time_s == 110.0 and headlines["b"].ms_per_image == 5.0
    text = compare.cards_sentence(headlines, {"a": "Model A", "b": "Model B"}, clean=False)
    assert "Model B is the smaller and faster network (0.9 M parameters, 5.0 ms per image)" in text
    assert "near-identical twin" in text
    headlines["b"] = dataclasses.replace(headlines["b"], ms_per_image=30.0)
    text = compare.cards_sentence(headlines, {"a": "Model A", "b": "Model B"}, clean=True)
    assert "Model B is the smaller network (0.9 M parameters), Model A the faster (20.0 ms per image)" in text
    assert "leave out every test image with a near duplicate" in text


def test_per_class_table_is_long(joined):
    metrics = make_metrics(per_class={"glioma": {"precision": 1.0, "recall": 0.5, "f1": 0.6, "support": 3}})
    long = compare.per_class_table({"a": metrics}, {"a": "A"})
    assert long.to_dict("records")[1] == {"model": "A", "class": "glioma", "metric": "recall", "value": 0.5}


def test_image_groups_offer_classes_mistakes_and_disagreements(joined):
    groups = compare.image_groups(joined, ["a", "b"])
    assert groups["True class: Glioma"] == ["1", "3"]
    assert groups["True class: No tumor"] == ["4"]
    assert groups["Misclassified by either model"] == ["1", "2", "3", "4"]
    assert groups["The models disagree"] == ["2", "3", "4"]


def test_reference_table_labels_published_rows():
    headline = compare.Headline(
        accuracy=0.9, macro_f1=0.8, total_params=10, file_size_mb=1.0, ms_per_image=2.0, training_time_s=5.0
    )
    published = dataclasses.asdict(headline) | {"source": "a study", "test_images": 1311}
    table = compare.reference_table({"a": headline}, {"a": "Model A"}, 100, published)
    assert table["source"].tolist() == ["this project (reproduced)", "published: a study"]
    assert table["test images"].tolist() == [100, 1311]
    assert table.loc[0, "macro F1"] == 0.8


def test_models_as_fast_at_the_precision_shown_are_named_together():
    def headline(params: int, ms: float) -> compare.Headline:
        return compare.Headline(0.9, 0.9, params, 1.0, ms, 60.0)

    headlines = {"a": headline(3_000_000, 1.6), "b": headline(900_000, 0.52), "c": headline(2_000_000, 0.49)}
    text = compare.cards_sentence(headlines, {"a": "A", "b": "B", "c": "C"}, clean=True)
    assert text.startswith("B is the smaller network (0.9 M parameters); B and C are the fastest (0.5 ms")
