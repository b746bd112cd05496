"""The tables and numbers the pages show, computed in core/ (no Streamlit)."""

import dataclasses

import numpy as np
import pandas as pd
import pytest

from conftest import make_metrics
from core import wording
from core.artifacts import CURRENT_RECIPE
from core.data import provenance, subsets
from core.data.dataset import PROBABILITY_COLUMNS
from core.evaluation import calibration, compare, efficiency, paired
from core.evaluation.calibration import ReliabilityBins, Report, Scores
from core.models import config as model_config
from core.records import CrossSourceSummary
from core.report import generalisation, model_card
from core.serving import predict
from core.studies import audit, localisation


def test_calibration_table_has_a_row_before_and_after_scaling_per_model():
    bins = ReliabilityBins([0.9], [0.8], [10], [0.8], [1.0])
    before, after = Scores(0.10, 0.20, 0.30, 0.95, 0.85), Scores(0.02, 0.18, 0.25, 0.86, 0.85)
    reports = {"a": Report(1.7, before, after, bins, bins), "b": Report(0.9, after, before, bins, bins)}
    table = calibration.report_table(reports, {"a": "Model A", "b": "Model B"})
    assert table["model"].tolist() == ["Model A", "Model A", "Model B", "Model B"]
    assert table["temperature"].tolist() == [1.0, 1.7, 1.0, 0.9]
    assert table["expected calibration error"].tolist() == [0.10, 0.02, 0.02, 0.10]
    assert table.iloc[1][["Brier score", "log loss", "mean confidence", "accuracy"]].tolist() == [
        0.18, 0.25, 0.86, 0.85
    ]  # fmt: skip


@pytest.mark.parametrize(
    "difference, expected",
    [(0.0125, "+1.25 points"), (-0.003, "-0.30 points"), (0.0, "+0.00 points")],
)
def test_points(difference, expected):
    assert compare.points(difference) == expected


def headline(accuracy: float, params: int, ms: float | None) -> compare.Headline:
    return compare.Headline(accuracy, accuracy - 0.01, params, params / 250_000, ms, 600.0)


def test_cards_show_each_number_and_its_difference_from_the_other_model():
    cards = compare.cards(headline(0.97, 2_500_000, 6.0), headline(0.95, 1_000_000, 1.5))
    shown = [(c.label, c.value, c.delta, c.delta_color) for c in cards]
    assert shown == [
        ("Accuracy", "97.00%", "+2.00 points", "normal"),
        ("Macro F1", "96.00%", "+2.00 points", "normal"),
        ("Parameters", "2.50 M", "+1.50 M", "inverse"),
        ("File size", "10.0 MB", "+6.0 MB", "inverse"),
        ("Inference", "6.0 ms", "+4.5 ms", "inverse"),
        ("Training time", "10.0 min", None, "inverse"),  # no difference at the precision shown
    ]


def test_cards_without_a_measurement_or_another_model_have_no_difference():
    unmeasured = {c.label: c for c in compare.cards(headline(0.97, 10, None), headline(0.95, 10, 1.5))}
    assert unmeasured["Inference"].value == "not measured" and unmeasured["Inference"].delta is None
    assert unmeasured["Accuracy"].delta == "+2.00 points"
    assert all(card.delta is None for card in compare.cards(headline(0.97, 10, 1.0)))


def test_per_class_wide_has_one_row_per_class_and_model():
    scores = {"precision": 0.9, "recall": 0.8, "f1": 0.85}
    metrics = make_metrics(
        per_class={"glioma": scores, "notumor": {"precision": 1.0, "recall": 0.5, "f1": 2 / 3}}
    )
    long = compare.per_class_table({"a": metrics, "b": metrics}, {"a": "A", "b": "B"})
    wide = compare.per_class_wide(long)
    assert wide.columns.tolist() == ["class", "model", "precision", "recall", "f1"]
    assert wide[["class", "model"]].values.tolist() == [
        ["Glioma", "A"], ["Glioma", "B"], ["No tumor", "A"], ["No tumor", "B"]
    ]  # fmt: skip
    assert wide.iloc[2][["precision", "recall", "f1"]].tolist() == pytest.approx([1.0, 0.5, 2 / 3])


@pytest.mark.parametrize(
    "share, expected",
    [
        (479 / 1311, "About a third"),  # the Kaggle release
        (0.5, "About half"),
        (0.26, "About a quarter"),
        (0.42, "About 42%"),
        (0.66, "About two thirds"),
    ],
)
def test_share_in_words(share, expected):
    assert compare.share_in_words(share) == expected


def test_reading_takes_the_near_duplicate_share_from_the_audit():
    headlines = {"a": headline(0.97, 2_000_000, 6.0), "b": headline(0.95, 900_000, 1.5)}
    titles = {"a": "A", "b": "B"}
    assert "About a third of these test images have a near-identical twin" in compare.cards_sentence(
        headlines, titles, clean=False, near_share=0.365
    )
    assert "No test image has a near-identical twin" in compare.cards_sentence(headlines, titles, False, 0.0)
    without_audit = compare.cards_sentence(headlines, titles, clean=False)
    assert "About" not in without_audit and "python -m core audit" in without_audit


def test_check_same_test_set():
    x, y = (dataclasses.replace(make_metrics(), test_fingerprint=f) for f in ("x", "y"))
    compare.check_same_test_set({"a": x, "b": x})
    with pytest.raises(ValueError, match="different test sets"):
        compare.check_same_test_set({"a": x, "b": y})


def predictions(labels: list[tuple[str, str]]) -> pd.DataFrame:
    """A predictions table from (true, predicted) pairs, one image each."""
    rows = []
    for i, (true, predicted) in enumerate(labels):
        probabilities = {column: 0.1 for column in PROBABILITY_COLUMNS} | {f"prob_{predicted}": 0.7}
        rows.append({"path": str(i), "true_label": true, "predicted_label": predicted, **probabilities})
    return pd.DataFrame(rows)


def test_model_intervals_are_those_of_the_paired_summary_for_any_number_of_models():
    truth = ["glioma", "meningioma", "notumor", "pituitary"] * 5
    wrong = ["meningioma", "glioma", "pituitary", "notumor"] * 5
    tables = {
        "a": predictions(list(zip(truth, truth))),
        "b": predictions(list(zip(truth, truth[:15] + wrong[15:]))),
        "c": predictions(list(zip(truth, wrong[:10] + truth[10:]))),
    }
    joined = compare.joined_predictions(tables)
    intervals = paired.model_intervals(joined, ["a", "b", "c"])
    assert [intervals[n].accuracy.estimate for n in "abc"] == [1.0, 0.75, 0.5]
    assert intervals["a"].accuracy.low == intervals["a"].accuracy.high == 1.0
    assert paired.paired_summary(joined, ["b", "c"]).intervals == {n: intervals[n] for n in "bc"}


def audit_result() -> dict:
    test_images = [
        {"path": "1", "exact": True, "near": True},
        {"path": "2", "exact": False, "near": True},
        {"path": "3", "exact": False, "near": False},
        {"path": "4", "exact": False, "near": False},
    ]
    conflict = {"a": "x", "b": "y"}
    return {
        "dataset": {"test_images": 4},
        "test_vs_train": {
            "exact": 1,
            "near": 2,
            "label_conflicts": [conflict],
            "per_class": {
                "glioma": {"test_images": 3, "exact": 1, "near": 2},
                "pituitary": {"test_images": 1, "exact": 0, "near": 0},
            },
        },
        "within": {"Training": {"label_conflicts": [conflict, conflict]}, "Testing": {"label_conflicts": []}},
        "test_images": test_images,
    }


def test_audit_summary_counts_the_test_images_and_the_conflicts():
    summary = subsets.AuditSummary.from_json(audit_result())
    assert summary == subsets.AuditSummary(
        test_images=4, exact=1, near=2, clean=2, conflicts_between=1, conflicts_within=2
    )
    assert summary.share(summary.clean) == 0.5 and summary.near_share == 0.5
    assert subsets.AuditSummary(0, 0, 0, 0, 0, 0).near_share == 0.0  # no test images: no division by zero


def test_audit_per_class_table():
    table = audit.per_class_table(audit_result())
    assert table.values.tolist() == [["Glioma", 3, 1, 2], ["Pituitary", 1, 0, 0]]
    assert table.columns.tolist() == [
        "class", "test images", "same file in Training", "near duplicate (incl. same file)"
    ]  # fmt: skip


def test_the_audit_sentences_count_the_pairs_inside_each_split_and_name_the_method():
    result = audit_result() | {"method": {"exact": "SHA-256", "near": "thumbnails", "threshold": 0.1}}
    result["within"]["Training"] |= {"near_pairs": 1200, "exact_pairs": 3}
    result["within"]["Testing"] |= {"near_pairs": 5, "exact_pairs": 0}
    sentence = audit.within_sentence(result)
    assert "**1,200** near-duplicate pairs in Training (3 identical files)" in sentence
    assert "**5** in Testing (0 identical)" in sentence
    assert "**1** between the splits, **2** within" in sentence
    assert audit.method_sentence(result) == "Exact: SHA-256. Near: thumbnails, at most 0.1."
    assert audit.LABEL_CONFLICTS_SENTENCE.startswith(f"{len(provenance.LABEL_CONFLICTS)} slices")


def crosssource_summary(
    models: list[str], note: str | None = None, config: dict | None = None
) -> CrossSourceSummary:
    """One recipe's leave-one-source-out results: one fold, `models` trained on `config`'s recipe
    (the plain one by default)."""
    interval = lambda estimate: {"estimate": estimate, "low": estimate, "high": estimate}  # noqa: E731
    figures = {
        "held_out_images": 4,
        "tumour_recall": interval(0.5),
        "accuracy": interval(0.75),
        "in_source_images": 8,
        "in_source_accuracy": interval(0.9),
        "confusion": [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]],
        "training_images": 20,
        "config": config or {},
    }
    summary = {"folds": {"SARTAJ": {"held_out_images": 4, "models": dict.fromkeys(models, figures)}}}
    data = summary | {"short_epochs": 12, "short_copies": 2} | ({"note": note} if note else {})
    return CrossSourceSummary.from_json(data, model_config.defaults())


@pytest.mark.parametrize(("models", "who"), [(["a", "b"], "both models"), (["a", "b", "c"], "every model")])
def test_the_schedule_caption_counts_the_fold_models(models, who):
    caption = generalisation.schedule_caption(crosssource_summary(models))
    assert caption.startswith(f"A short schedule, the same for {who}: at most 12 epochs a phase")
    assert "2 cached augmented copies" in caption


def test_the_crosssource_sentence_names_the_recipe_or_the_runs_own_note():
    plain = generalisation.crosssource_sentence(crosssource_summary(["a"]))
    assert plain.endswith("of them. Recipe: every image decoded in grey, rotation, shift, zoom and flips.")
    noted = generalisation.crosssource_sentence(crosssource_summary(["a"], note="An older run."))
    assert noted.endswith("of them. An older run.")
    assert generalisation.recipe_title(CURRENT_RECIPE) == "Shipped recipe"
    assert generalisation.recipe_title("intensity-and-pastes") == "Tried: intensity and pastes"
    assert generalisation.held_out_title("CNN", "SARTAJ") == "**CNN** on the held-out SARTAJ images"


def test_the_recipes_table_puts_every_recipe_side_by_side_and_marks_a_model_not_run():
    table = generalisation.recipes_table(
        {CURRENT_RECIPE: crosssource_summary(["a", "b"]), "cnn-only": crosssource_summary(["b"])},
        {"a": "A", "b": "B"},
    )
    assert table.to_dict("records") == [
        {"Recipe": "Shipped recipe", "Held out": "SARTAJ", "A": "50.0% / 75.0%", "B": "50.0% / 75.0%"},
        {"Recipe": "Tried: cnn only", "Held out": "SARTAJ", "A": "not run", "B": "50.0% / 75.0%"},
    ]


@pytest.mark.parametrize(
    ("config", "named"),
    [
        (
            {"intensity_augmentation": True},
            "intensity changes (gamma, contrast, bias field, blur, noise, inversion (20%))",
        ),
        (
            {"intensity_augmentation": True, "inversion_probability": 0.0, "intensity_strength": 0.5},
            "intensity changes (gamma, contrast, bias field, blur, noise; strength 0.5)",
        ),
        ({"random_convolution": 0.5}, "50% of images through a random shallow network (GIN)"),
        ({"fine_tune_layers": 47}, "a fine-tuned on its top 47 layers"),
    ],
)
def test_the_recipe_sentence_names_each_change_tried(config, named):
    sentence = generalisation.recipe_sentence(crosssource_summary(["a"], config=config))
    assert sentence == f"Recipe: every image decoded in grey, rotation, shift, zoom and flips, {named}."


def test_the_localisation_sentence_counts_the_boxed_images_of_one_subset_only():
    summary = {"images": {localisation.FULL: 1234}, "grow": 0.1, "threshold": 0.5}
    one = localisation.scores_sentence(summary, localisation.FULL)
    assert "on the 1,234 test images with a tumour box" in one
    both = localisation.scores_sentence(summary)
    assert "on the test images with a tumour box" in both
    assert "grown by 10% of the image side" in both and "above 50% of its maximum" in both


def test_the_model_card_lines_name_each_collection_and_the_held_out_recall():
    assert [item.split("**")[1] for item in model_card.coverage_items()] == list(provenance.COVERAGE)
    line = model_card.beyond_line(crosssource_summary(["a", "b"]), {"a": "A"})  # the card's models
    assert line == (
        "**Beyond the training collections.** Tumour recall (and accuracy) on a collection held out of "
        "training — without SARTAJ: A 50% (75%)."
    )


def batch_table() -> pd.DataFrame:
    """predict_files' columns: two good rows (one flagged, one where the models differ), one failed."""
    return pd.DataFrame(
        {
            "file": ["a.png", "b.png", "bad.jpg"],
            "error": ["", "", "file is empty (0 bytes): bad.jpg"],
            "m1_label": ["glioma", "notumor", np.nan],
            "m1_confidence": [0.9, 0.8, np.nan],
            "m2_label": ["glioma", "pituitary", np.nan],
            "m2_confidence": [0.7, 0.6, np.nan],
            "agree": [True, False, np.nan],
            "out_of_distribution": [True, False, np.nan],
        }
    )


def test_batch_summary_counts_a_table_and_adds_up():
    summary = predict.batch_summary(batch_table())
    # a.png's models agree, but it is flagged (shown as Not recognised), so it counts in neither.
    assert summary == predict.BatchSummary(files=3, failed=1, agree=0, disagree=1, out_of_distribution=1)
    assert summary.classified == 2
    assert summary + summary == predict.BatchSummary(6, 2, 0, 2, 2)
    without_checkers = predict.batch_summary(batch_table().drop(columns="out_of_distribution"))
    assert without_checkers.out_of_distribution == 0


def test_shown_labels_are_class_titles_or_not_recognised():
    shown = predict.shown_labels(batch_table(), ["m1", "m2"])
    assert shown["m1_label"].tolist()[:2] == [predict.NOT_RECOGNISED, "No tumor"]
    assert shown["m2_label"].tolist()[:2] == [predict.NOT_RECOGNISED, "Pituitary"]
    assert pd.isna(shown.loc[2, "m1_label"])  # a failed row stays empty
    assert batch_table()["m1_label"][0] == "glioma"  # the CSV's table is left as it was


@pytest.mark.parametrize(
    "probabilities, foreign, expected",
    [
        ([0.1, 0.7, 0.1, 0.1], False, "Meningioma"),
        ([0.1, 0.1, 0.7, 0.1], False, "No tumor"),
        ([0.1, 0.7, 0.1, 0.1], True, "Not recognised"),
    ],
)
def test_shown_label(probabilities, foreign, expected):
    assert predict.shown_label(np.array(probabilities), foreign) == expected


def test_phase_table_gives_each_phase_its_epochs_best_epoch_and_seconds():
    history = {
        "phases": [
            {"name": "head", "first_epoch": 1, "last_epoch": 5, "best_epoch": 4, "wall_time_s": 3.5},
            {"name": "fine-tune", "first_epoch": 6, "last_epoch": 9, "best_epoch": 9, "wall_time_s": 20.0},
        ]
    }
    table = efficiency.phase_table(history)
    assert table.columns.tolist() == ["phase", "epochs", "best", "seconds"]
    assert table.values.tolist() == [["head", "1–5", 4, 4], ["fine-tune", "6–9", 9, 20]]


@pytest.mark.parametrize(
    "words, expected", [(["A"], "A"), (["A", "B"], "A and B"), (["A", "B", "C"], "A, B and C")]
)
def test_listed_words_read_as_a_sentence(words, expected):
    assert wording.listed(words) == expected


def test_captions_count_and_share_values_for_any_number_of_models():
    assert (wording.both(2), wording.both(3)) == ("both", "all 3")
    assert wording.per_model({"A": "15%", "B": "15%"}) == "15%"
    assert wording.per_model({"A": "15%", "B": "20%"}) == "15% (A) and 20% (B)"
    assert wording.grouped({"A": "flat", "B": "far", "C": "flat"}) == "A and C: flat; B: far"
    assert wording.fine_tuning_note([]) == ""
    assert wording.fine_tuning_note(["A"]).startswith("Dashed line: A switches from training")
    assert wording.fine_tuning_note(["A", "B"]).startswith("Dashed line: A and B switch from")


def test_the_control_note_warns_when_the_control_trained_with_another_recipe():
    from core.wording import control_note

    same = control_note("Control", 112, "Transfer", 224, same_pastes=True)
    other = control_note("Control", 112, "Transfer", 224, same_pastes=False)
    assert "what pretraining gives (and of its 224 px input)" in same and "pasted lesions" not in same
    assert other.startswith(same) and "mix pretraining with the recipe" in other
