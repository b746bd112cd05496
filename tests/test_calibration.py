import numpy as np
import pandas as pd
import pytest

from core.data.dataset import CLASS_NAMES, PROBABILITY_COLUMNS
from core.evaluation import calibration


def softmax(logits: np.ndarray) -> np.ndarray:
    exp = np.exp(logits - logits.max(axis=1, keepdims=True))
    return exp / exp.sum(axis=1, keepdims=True)


def calibrated_sample(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Logits and labels drawn from softmax(logits): probabilities that are right on average."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(scale=2.5, size=(n, 4))
    cumulative = softmax(logits).cumsum(axis=1)
    labels = (rng.random((n, 1)) > cumulative).sum(axis=1)
    return logits, labels


def test_temperature_one_changes_nothing():
    probabilities = softmax(np.random.default_rng(0).normal(size=(10, 4)))
    np.testing.assert_allclose(calibration.scale(probabilities, 1.0), probabilities, atol=1e-12)


def test_fitted_temperature_undoes_over_confidence():
    logits, labels = calibrated_sample(20_000, seed=1)
    over_confident = softmax(logits * 3)  # as if the logits had been divided by T = 1/3
    temperature = calibration.fit_temperature(over_confident, labels)
    assert temperature == pytest.approx(3, rel=0.05)
    before = calibration.expected_calibration_error(over_confident, labels)
    after = calibration.expected_calibration_error(calibration.scale(over_confident, temperature), labels)
    assert after < 0.02 < before


def test_scaling_never_changes_the_predicted_class():
    probabilities = softmax(np.random.default_rng(2).normal(scale=3, size=(100, 4)))
    for temperature in (0.3, 2.0, 7.0):
        scaled = calibration.scale(probabilities, temperature)
        assert (scaled.argmax(axis=1) == probabilities.argmax(axis=1)).all()


def test_hand_computed_brier_score_and_calibration_error():
    probabilities = np.array([[0.9, 0.1, 0, 0], [0.6, 0.4, 0, 0]])
    labels = np.array([0, 1])
    # (0.1^2 + 0.1^2 + 0 + 0 + 0.6^2 + 0.6^2 + 0 + 0) / 2
    assert calibration.brier_score(probabilities, labels) == pytest.approx((0.02 + 0.72) / 2)
    # Two bins of one image each: |1 - 0.9| and |0 - 0.6|.
    assert calibration.expected_calibration_error(probabilities, labels) == pytest.approx((0.1 + 0.6) / 2)


def test_reliability_bins_hold_every_image_once():
    logits, labels = calibrated_sample(500, seed=3)
    bins = calibration.reliability_bins(softmax(logits), labels)
    assert sum(bins.count) == 500
    assert all(low <= c <= high for low, c, high in zip(bins.low, bins.confidence, bins.high))


def test_report_fits_on_validation_and_applies_to_test():
    def table(probabilities: np.ndarray, labels: np.ndarray) -> pd.DataFrame:
        frame = pd.DataFrame(probabilities, columns=PROBABILITY_COLUMNS)
        frame["true_label"] = [CLASS_NAMES[i] for i in labels]
        return frame

    validation_logits, validation_labels = calibrated_sample(5000, seed=4)
    test_logits, test_labels = calibrated_sample(5000, seed=5)
    result = calibration.report(
        table(softmax(validation_logits * 2), validation_labels), table(softmax(test_logits * 2), test_labels)
    )
    assert result.temperature == pytest.approx(2, rel=0.1)
    assert result.after.ece < result.before.ece
    assert result.after.accuracy == result.before.accuracy
    assert sum(result.bins_after.count) == sum(result.bins_before.count) == 5000
