import numpy as np
import pytest
from scipy.stats import binomtest
from sklearn.metrics import f1_score

from core.evaluation import stats


def predictions(n: int, accuracy: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y_true = rng.integers(0, 4, n)
    wrong = rng.random(n) > accuracy
    y_pred = np.where(wrong, (y_true + rng.integers(1, 4, n)) % 4, y_true)
    return y_true, y_pred


def test_vectorised_macro_f1_matches_scikit_learn():
    y_true, y_pred = predictions(200, 0.7, seed=1)
    y_pred[y_pred == 3] = 0  # a class never predicted: scikit-learn scores it 0
    expected = f1_score(y_true, y_pred, labels=range(4), average="macro", zero_division=0)
    assert stats.METRICS["macro_f1"](y_true[None], y_pred[None])[0] == pytest.approx(expected)


@pytest.mark.parametrize("metric", ["accuracy", "macro_f1"])
def test_bootstrap_interval_brackets_the_estimate_and_narrows_with_more_images(metric):
    small = stats.bootstrap_interval(*predictions(100, 0.9, seed=2), metric)
    large = stats.bootstrap_interval(*predictions(2000, 0.9, seed=2), metric)
    for interval in (small, large):
        assert interval.low <= interval.estimate <= interval.high
    assert large.high - large.low < (small.high - small.low) / 2


def test_paired_difference_of_a_model_with_itself_is_exactly_zero():
    y_true, y_pred = predictions(300, 0.8, seed=3)
    interval = stats.paired_difference(y_true, y_pred, y_pred, "accuracy")
    assert (interval.estimate, interval.low, interval.high) == (0, 0, 0)


def test_paired_difference_sees_a_consistent_small_gain():
    y_true, pred_b = predictions(1000, 0.85, seed=4)
    pred_a = pred_b.copy()
    fixed = np.flatnonzero(pred_b != y_true)[:40]  # a is b with 40 mistakes fixed
    pred_a[fixed] = y_true[fixed]
    interval = stats.paired_difference(y_true, pred_a, pred_b, "accuracy")
    assert interval.estimate == pytest.approx(0.04)
    assert 0 < interval.low < interval.estimate < interval.high


def test_mcnemar_counts_and_exact_p_value():
    y_true = np.zeros(20, int)
    pred_a = np.array([0] * 15 + [1] * 5)  # right on the first 15
    pred_b = np.array([0] * 5 + [1] * 10 + [1] * 5)  # right on the first 5
    result = stats.mcnemar(y_true, pred_a, pred_b)
    assert (result.both_right, result.only_a_right, result.only_b_right, result.both_wrong) == (5, 10, 0, 5)
    assert result.p_value == pytest.approx(2 * 0.5**10)  # 10 of 10 discordant go one way


@pytest.mark.parametrize("n", [0, 1, 2, 7, 10, 117, 1311])
def test_exact_binomial_p_value_matches_scipy(n):
    for k in sorted({0, 1, n // 3, n // 2, (n + 1) // 2, n - 1, n} & set(range(n + 1))):
        expected = binomtest(k, n, 0.5).pvalue if n else 1.0
        assert stats.binomial_two_sided(k, n) == pytest.approx(expected, rel=1e-9, abs=1e-300)


def test_mcnemar_of_identical_models_is_not_significant():
    y_true, y_pred = predictions(50, 0.8, seed=5)
    assert stats.mcnemar(y_true, y_pred, y_pred).p_value == 1.0


def test_class_recall_counts_only_that_class():
    y_true = np.array([0, 0, 0, 0, 1, 1])
    y_pred = np.array([0, 0, 0, 1, 0, 0])
    assert stats.recall_of(0)(y_true[None], y_pred[None])[0] == pytest.approx(0.75)
    assert stats.recall_of(1)(y_true[None], y_pred[None])[0] == 0
