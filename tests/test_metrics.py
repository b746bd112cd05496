import numpy as np
import pandas as pd
import pytest

from core.data.dataset import Sample
from core.evaluation.evaluate import (
    Evaluation,
    classification_metrics,
    metrics_from_predictions,
    predictions_table,
    write_evaluation,
)
from core.records import Metrics
from core.serving.ood import Guard


def one_hot_probabilities(predicted: list[int]) -> np.ndarray:
    probabilities = np.full((len(predicted), 4), 0.1)
    probabilities[np.arange(len(predicted)), predicted] = 0.7
    return probabilities


def test_metrics_match_a_hand_computed_case():
    # True:      0 0 0 1 1 2 2 3
    # Predicted: 0 0 1 1 0 2 2 3
    y_true = np.array([0, 0, 0, 1, 1, 2, 2, 3])
    metrics = classification_metrics(y_true, one_hot_probabilities([0, 0, 1, 1, 0, 2, 2, 3]))
    assert metrics["accuracy"] == pytest.approx(6 / 8)
    glioma = metrics["per_class"]["glioma"]  # tp 2, fp 1, fn 1
    assert (glioma["precision"], glioma["recall"], glioma["support"]) == pytest.approx((2 / 3, 2 / 3, 3))
    meningioma = metrics["per_class"]["meningioma"]  # tp 1, fp 1, fn 1
    assert meningioma["f1"] == pytest.approx(0.5)
    assert metrics["macro_f1"] == pytest.approx((2 / 3 + 0.5 + 1 + 1) / 4)
    assert metrics["weighted_f1"] == pytest.approx((3 * 2 / 3 + 2 * 0.5 + 2 + 1) / 8)
    assert metrics["confusion_matrix"] == [[2, 1, 0, 0], [1, 1, 0, 0], [0, 0, 2, 0], [0, 0, 0, 1]]
    assert metrics["n_images"] == 8


def test_perfect_ranking_gives_auc_one_and_missing_class_gives_none():
    y_true = np.array([0, 1, 2, 3])
    assert classification_metrics(y_true, one_hot_probabilities([0, 1, 2, 3]))["roc_auc_ovr"] == 1.0
    assert classification_metrics(np.array([0, 1]), one_hot_probabilities([0, 1]))["roc_auc_ovr"] is None


def test_predictions_table_round_trips_to_the_same_metrics(tmp_path):
    samples = [
        Sample(tmp_path / f"{i}.jpg", f"Testing/x/{i}.jpg", label) for i, label in enumerate([0, 1, 2, 3, 3])
    ]
    probabilities = one_hot_probabilities([0, 2, 2, 3, 1])
    table = predictions_table(samples, probabilities)
    assert list(table.columns) == [
        "path", "true_label", "predicted_label",
        "prob_glioma", "prob_meningioma", "prob_notumor", "prob_pituitary",
    ]  # fmt: skip
    assert table["predicted_label"].tolist() == ["glioma", "notumor", "notumor", "pituitary", "meningioma"]
    recomputed = metrics_from_predictions(table)
    assert recomputed == Metrics.from_json(classification_metrics(np.array([0, 1, 2, 3, 3]), probabilities))
    assert recomputed.accuracy == pytest.approx(3 / 5)


def test_predictions_csv_keeps_every_digit_the_metrics_need(tmp_path):
    # Confident models put many probabilities within 1e-6 of 0 or 1: rounding them would tie
    # scores and change the ROC AUC recomputed from the file.
    rng = np.random.default_rng(0)
    labels = np.repeat([0, 1, 2, 3], 10)
    logits = rng.normal(scale=12, size=(len(labels), 4)) + 6 * np.eye(4)[labels]
    probabilities = (np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)).astype(np.float32)
    samples = [Sample(tmp_path / f"{i}.jpg", f"Testing/x/{i}.jpg", label) for i, label in enumerate(labels)]
    table = predictions_table(samples, probabilities)
    guard = Guard(np.zeros((4, 2), np.float32), np.eye(2, dtype=np.float32), threshold=1.0)
    write_evaluation(tmp_path, Evaluation({}, table, table, guard))
    recomputed = metrics_from_predictions(pd.read_csv(tmp_path / "predictions.csv"))
    assert recomputed == Metrics.from_json(classification_metrics(labels, probabilities))
