"""core.evaluation.curves on hand-made prediction tables whose answers are known, and its figures."""

import numpy as np
import pandas as pd
import pytest

from core import wording
from core.data.dataset import CLASS_NAMES, PROBABILITY_COLUMNS
from core.evaluation import compare, curves
from core.evaluation.evaluate import metrics_from_predictions
from core.report import curve_figures


def predictions(rows: list[tuple[str, list[float]]]) -> pd.DataFrame:
    """A predictions table from (true class, four probabilities) rows."""
    probabilities = np.array([probs for _, probs in rows], float)
    table = pd.DataFrame(
        {
            "path": [f"{i}.jpg" for i in range(len(rows))],
            "true_label": [label for label, _ in rows],
            "predicted_label": [CLASS_NAMES[i] for i in probabilities.argmax(axis=1)],
        }
    )
    table[PROBABILITY_COLUMNS] = probabilities
    return table


def sure_of(predicted: str, confidence: float) -> list[float]:
    """`confidence` on `predicted`, the rest spread evenly over the other three classes."""
    return [confidence if name == predicted else (1 - confidence) / 3 for name in CLASS_NAMES]


# Each class's probability is 0.7 on its own images and 0.1 on the others: perfectly separated.
PERFECT = predictions([(name, sure_of(name, 0.7)) for name in CLASS_NAMES for _ in range(2)])
# Each class's probability is 0.1 on its own images and 0.3 on the others: separated the wrong way.
REVERSED = predictions(
    [
        (name, [0.1 if other == name else 0.3 for other in CLASS_NAMES])
        for name in CLASS_NAMES
        for _ in range(2)
    ]
)
# true class, predicted class, confidence: three right, two wrong.
CASES = [
    ("glioma", "glioma", 0.9),
    ("glioma", "meningioma", 0.6),
    ("notumor", "notumor", 0.95),
    ("pituitary", "notumor", 0.5),
    ("meningioma", "meningioma", 0.4),
]
MIXED = predictions([(true, sure_of(predicted, confidence)) for true, predicted, confidence in CASES])


def random_predictions(n: int = 300, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, len(CLASS_NAMES), n)
    # Probabilities that lean towards the true class, so the curves are neither perfect nor chance.
    probabilities = rng.dirichlet(np.ones(len(CLASS_NAMES)), n) + 0.6 * np.eye(len(CLASS_NAMES))[labels]
    probabilities /= probabilities.sum(axis=1, keepdims=True)
    return predictions([(CLASS_NAMES[label], list(p)) for label, p in zip(labels, probabilities)])


@pytest.mark.parametrize(
    "table, expected_auc, expected_ap",
    [(PERFECT, 1.0, 1.0), (REVERSED, 0.0, 0.25)],  # AP of a reversed ranking: the share of positives
)
@pytest.mark.parametrize("positive", CLASS_NAMES)
def test_per_class_auc_of_known_rankings(table, expected_auc, expected_ap, positive):
    curve = curves.class_curves(table, positive)
    assert curve.roc_auc == pytest.approx(expected_auc)
    assert curve.average_precision == pytest.approx(expected_ap)
    assert (curve.positives, curve.negatives) == (2, 6)
    assert curve.prevalence == pytest.approx(0.25)
    assert curve.false_positive_rate[0] == 0 and curve.true_positive_rate[-1] == 1


def test_tumour_curve_puts_three_classes_against_no_tumour():
    curve = curves.class_curves(PERFECT, curves.TUMOUR)
    assert (curve.positives, curve.negatives) == (6, 2)
    assert curve.roc_auc == pytest.approx(1.0)  # P(no tumor) is 0.7 on exactly the no-tumour images


def test_per_class_aucs_average_to_the_macro_auc_evaluation_reports():
    table = random_predictions()
    by_class = curves.per_class_curves(table)
    assert list(by_class) == list(CLASS_NAMES)
    assert 0.6 < min(curve.roc_auc for curve in by_class.values()) < 1.0
    mean_auc = np.mean([curve.roc_auc for curve in by_class.values()])
    assert mean_auc == pytest.approx(metrics_from_predictions(table).roc_auc_ovr)
    for name, curve in by_class.items():
        assert curve.positives == (table["true_label"] == name).sum()
        assert curve.positives + curve.negatives == len(table)


@pytest.mark.parametrize(
    "call",
    [
        lambda: curves.class_curves(MIXED, "tumor"),
        lambda: curves.operating_point(MIXED, "Glioma", 0.5),
        lambda: curves.binary_labels_and_scores(MIXED, "no_tumor"),
        lambda: curves.rule("cancer", 0.5),
    ],
)
def test_unknown_class_names_are_refused_with_the_choices(call):
    with pytest.raises(ValueError, match="unknown class .*choose one of tumour, glioma"):
        call()


def test_a_class_without_images_has_no_curve():
    only_glioma = predictions([("glioma", sure_of("glioma", 0.9))] * 3)
    with pytest.raises(ValueError, match="'meningioma' needs positive and negative images.*0 positive"):
        curves.class_curves(only_glioma, "meningioma")


@pytest.mark.parametrize(
    "threshold, answered, correct, coverage, accuracy, errors_referred",
    [
        (0.0, 5, 3, 1.0, 0.6, 0),  # t = 0 answers everything
        (0.55, 3, 2, 0.6, 2 / 3, 1),
        (0.6, 3, 2, 0.6, 2 / 3, 1),  # confidence equal to t is answered
        (0.92, 1, 1, 0.2, 1.0, 2),
        (0.99, 0, 0, 0.0, None, 2),  # nothing answered: no accuracy
    ],
)
def test_referral_at_known_thresholds(threshold, answered, correct, coverage, accuracy, errors_referred):
    point = curves.referral(MIXED, threshold)
    assert (point.images, point.answered, point.correct, point.errors) == (5, answered, correct, 2)
    assert point.referred == 5 - answered
    assert point.coverage == pytest.approx(coverage)
    assert point.accuracy == (None if accuracy is None else pytest.approx(accuracy))
    assert point.errors_referred == errors_referred


def test_referral_curve_coverage_falls_as_t_rises_and_counts_add_up():
    table = random_predictions(seed=1)
    curve = curves.referral_curve(table)
    assert len(curve) == len(curves.THRESHOLDS)
    assert curve["coverage"].iloc[0] == 1.0 and curve["coverage"].iloc[-1] < 0.05
    assert (np.diff(curve["coverage"]) <= 0).all()
    assert (curve["images"] == len(table)).all() and (curve["correct"] <= curve["answered"]).all()
    answered = curve["answered"] > 0
    some = curve[answered]
    assert some["accuracy"].to_numpy() == pytest.approx((some["correct"] / some["answered"]).to_numpy())
    assert curve.loc[~answered, "accuracy"].isna().all()
    # Referring the least confident images raises accuracy on this table.
    half = (curve["coverage"] - 0.5).abs().idxmin()
    assert curve["accuracy"][half] > curve["accuracy"][0]


@pytest.mark.parametrize(
    "positive, threshold, counts",  # counts: true positives, false negatives, true negatives, false positives
    [
        (curves.TUMOUR, 0.0, (4, 0, 0, 1)),  # t = 0 calls every image a tumour
        (curves.TUMOUR, 0.5, (4, 0, 1, 0)),  # P(no tumor) 0.5 <= 1 - t: still called tumour
        (curves.TUMOUR, 0.6, (3, 1, 1, 0)),
        (curves.TUMOUR, 1.0, (0, 4, 1, 0)),
        ("glioma", 0.5, (1, 1, 3, 0)),
        ("notumor", 0.5, (1, 0, 3, 1)),
    ],
)
def test_operating_point_counts(positive, threshold, counts):
    point = curves.operating_point(MIXED, positive, threshold)
    assert (
        point.true_positives,
        point.false_negatives,
        point.true_negatives,
        point.false_positives,
    ) == counts
    assert point.positives + point.negatives == len(MIXED)
    tp, fn, tn, fp = counts
    assert point.sensitivity == pytest.approx(tp / (tp + fn))
    assert point.specificity == pytest.approx(tn / (tn + fp))
    assert point.precision == (pytest.approx(tp / (tp + fp)) if tp + fp else None)


@pytest.mark.parametrize(
    "count, total, expected",
    [
        (380, 404, "94.1% (380 of 404)"),
        (40, 40, "100.0% (40 of 40)"),
        (0, 0, "n/a (0 of 0)"),
        (2, 1311, "0.2% (2 of 1,311)"),
    ],
)
def test_share_shows_the_counts_behind_a_rate(count, total, expected):
    assert wording.share(count, total) == expected


def test_a_count_takes_its_noun_in_the_plural_but_for_one():
    assert [wording.counted(n, "file") for n in (0, 1, 2, 1311)] == [
        "0 files",
        "1 file",
        "2 files",
        "1,311 files",
    ]


def test_tables_show_every_rate_with_its_counts():
    titles = {"a": "Model A", "b": "Model B"}
    referral = curves.referral_table(
        {"a": curves.referral(MIXED, 0.55), "b": curves.referral(MIXED, 0.99)}, titles
    )
    assert referral.to_dict("records")[0] == {
        "model": "Model A",
        "answered (coverage)": "60.0% (3 of 5)",
        "accuracy on answered": "66.7% (2 of 3)",
        "referred": 2,
        "errors referred": "50.0% (1 of 2)",
    }
    assert referral["accuracy on answered"].iloc[1] == "n/a (0 of 0)"
    point = curves.operating_point(MIXED, curves.TUMOUR, 0.6)
    operating = curves.operating_table({"a": point}, titles)
    assert operating.to_dict("records")[0] == {
        "model": "Model A",
        "sensitivity": "75.0% (3 of 4)",
        "specificity": "100.0% (1 of 1)",
        "precision": "100.0% (3 of 3)",
        "missed": 1,
        "false alarms": 0,
    }


def test_auc_table_has_a_row_per_class_and_model_with_image_counts():
    by_model = {"a": curves.per_class_curves(PERFECT), "b": curves.per_class_curves(REVERSED)}
    table = curves.auc_table(by_model, {"a": "A", "b": "B"})
    assert table.columns.tolist() == [
        "class",
        "model",
        "ROC AUC",
        "average precision",
        "positives",
        "negatives",
    ]
    assert table[["class", "model"]].values.tolist()[:3] == [
        ["Glioma", "A"],
        ["Glioma", "B"],
        ["Meningioma", "A"],
    ]
    assert table["ROC AUC"].tolist() == pytest.approx([1.0, 0.0] * 4)
    assert (table["positives"] + table["negatives"] == 8).all()


def test_rule_says_the_tumour_threshold_both_ways():
    assert curves.rule(curves.TUMOUR, 0.3) == (
        "tumour when P(tumour) = 1 − P(no tumor) ≥ 0.30, i.e. when P(no tumor) ≤ 0.70"
    )
    assert curves.rule("notumor", 0.5) == "No tumor when P(no tumor) ≥ 0.50"


COLORS = {"A": "#111111", "B": "#222222"}


def test_roc_figure_has_a_panel_per_class_a_line_per_model_and_auc_in_the_legend():
    by_title = {"A": curves.per_class_curves(PERFECT), "B": curves.per_class_curves(REVERSED)}
    fig = curve_figures.roc_curves(by_title, COLORS)
    lines = [trace for trace in fig.data if trace.name != "chance"]
    assert len(fig.data) == 4 * 3 and len(lines) == 8  # per class: chance and two models
    assert "A · Glioma: AUC 1.000" in {trace.name for trace in lines}
    assert "B · No tumor: AUC 0.000" in {trace.name for trace in lines}
    assert {trace.line.color for trace in lines} == set(COLORS.values())
    assert [a.text for a in fig.layout.annotations] == ["Glioma", "Meningioma", "No tumor", "Pituitary"]
    assert sum(trace.showlegend is not False for trace in fig.data if trace.name == "chance") == 1


def test_roc_figure_marks_an_operating_point_in_its_class_panel():
    by_title = {"A": {curves.TUMOUR: curves.class_curves(MIXED, curves.TUMOUR)}}
    point = curves.operating_point(MIXED, curves.TUMOUR, 0.6)
    fig = curve_figures.roc_curves(by_title, COLORS, marks={"A": point})
    mark = fig.data[-1]
    assert mark.name == "A: t = 0.60" and mark.mode == "markers"
    assert (mark.x[0], mark.y[0]) == pytest.approx((0.0, 0.75))  # 1 - specificity, sensitivity
    assert fig.layout.annotations[0].text == "Tumour (any class)"


def test_precision_recall_figure_shows_average_precision_and_the_share_of_positives():
    fig = curve_figures.precision_recall_curves({"A": curves.per_class_curves(PERFECT)}, COLORS)
    chance = [trace for trace in fig.data if trace.name.startswith("chance")]
    lines = [trace for trace in fig.data if not trace.name.startswith("chance")]
    assert len(chance) == 4 and all(list(trace.y) == [0.25, 0.25] for trace in chance)
    assert [trace.name for trace in lines][0] == "A · Glioma: AP 1.000"


def test_coverage_figure_draws_each_model_and_marks_the_chosen_t():
    tables = {"A": MIXED, "B": random_predictions(seed=2)}
    chosen = {title: curves.referral(table, 0.55) for title, table in tables.items()}
    fig = curve_figures.coverage_curve(
        {title: curves.referral_curve(table) for title, table in tables.items()}, COLORS, chosen
    )
    assert [trace.name for trace in fig.data] == ["A", "B", "A: t = 0.55", "B: t = 0.55"]
    assert [trace.line.color for trace in fig.data[:2]] == ["#111111", "#222222"]
    assert (fig.data[2].x[0], fig.data[2].y[0]) == pytest.approx((0.6, 2 / 3))
    assert len(fig.data[0].x) == len(curves.THRESHOLDS)


def test_per_class_wide_shows_each_class_image_count_given_the_metrics():
    metrics = metrics_from_predictions(MIXED)
    long = compare.per_class_table({"a": metrics, "b": metrics}, {"a": "A", "b": "B"})
    wide = compare.per_class_wide(long, metrics)
    assert wide.columns.tolist() == ["class", "images", "model", "precision", "recall", "f1"]
    assert dict(zip(wide["class"], wide["images"])) == {
        "Glioma": 2,
        "Meningioma": 1,
        "No tumor": 1,
        "Pituitary": 1,
    }
    assert "images" not in compare.per_class_wide(long).columns


def test_corner_zoom_narrows_the_axes_to_where_good_curves_differ():
    by_title = {"A": curves.per_class_curves(PERFECT)}
    whole = curve_figures.roc_curves(by_title, COLORS)
    corner = curve_figures.roc_curves(by_title, COLORS, corner=True)
    assert list(whole.layout.xaxis.range) == [-0.02, 1.02]
    assert list(corner.layout.xaxis.range) == [-0.005, 0.2] and list(corner.layout.yaxis.range) == [
        0.8,
        1.005,
    ]
    pr = curve_figures.precision_recall_curves(by_title, COLORS, corner=True)
    assert list(pr.layout.xaxis4.range) == [0.8, 1.005]
