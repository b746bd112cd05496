"""Paired statistics for two models scored on the same test images (numpy only).

Bootstrap confidence intervals resample test images with replacement; the paired comparison
resamples the same images for both models, so their shared difficulty cancels out. McNemar's
exact test looks only at the images where exactly one model is right.
"""

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass
from functools import lru_cache

import numpy as np

from core.data.dataset import CLASS_NAMES, NOTUMOR
from core.records import Interval

N_CLASSES = len(CLASS_NAMES)
BOOTSTRAP_SAMPLES = 2000
BOOTSTRAP_SEED = 0


def percent_interval(interval: dict | Interval) -> str:
    """E.g. "94.1% (92.0–95.8)": an estimate with its 95% interval."""
    values = asdict(interval) if not isinstance(interval, dict) else interval
    return f"{values['estimate']:.1%} ({values['low'] * 100:.1f}–{values['high'] * 100:.1f})"


def _accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    """Accuracy of each resample: (R, N) index arrays -> (R,)."""
    return (y_true == y_pred).mean(axis=-1)


def _macro_f1(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    """Macro F1 of each resample, as scikit-learn computes it (a class with no support and no
    prediction scores 0): (R, N) -> (R,)."""
    scores = []
    for cls in range(N_CLASSES):
        true_c, pred_c = y_true == cls, y_pred == cls
        tp = (true_c & pred_c).sum(axis=-1)
        denominator = true_c.sum(axis=-1) + pred_c.sum(axis=-1)  # 2TP + FP + FN
        scores.append(np.divide(2 * tp, denominator, out=np.zeros(tp.shape), where=denominator > 0))
    return np.mean(scores, axis=0)


def recall_of(cls: int) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """Recall of one class, as a resample score like METRICS' (R, N) -> (R,)."""

    def recall(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
        members = y_true == cls
        return (members & (y_pred == cls)).sum(axis=-1) / np.maximum(members.sum(axis=-1), 1)

    return recall


def tumour_recall(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    """Share of tumour images called any tumour class, as a resample score (R, N) -> (R,)."""
    tumours = y_true != NOTUMOR
    return (tumours & (y_pred != NOTUMOR)).sum(axis=-1) / np.maximum(tumours.sum(axis=-1), 1)


METRICS = {"accuracy": _accuracy, "macro_f1": _macro_f1}


@lru_cache(maxsize=4)
def _resamples(n: int, samples: int, seed: int) -> np.ndarray:
    """(samples, n) indices drawn with replacement; read-only, drawn once per (n, samples, seed)."""
    index = np.random.default_rng(seed).integers(0, n, size=(samples, n))
    index.flags.writeable = False
    return index


def _interval(estimate: float, draws: np.ndarray) -> Interval:
    low, high = np.percentile(draws, [2.5, 97.5])
    return Interval(float(estimate), float(low), float(high))


def _score(metric: str | Callable) -> Callable:
    return METRICS[metric] if isinstance(metric, str) else metric


def bootstrap_interval(y_true: np.ndarray, y_pred: np.ndarray, metric: str | Callable) -> Interval:
    """95% percentile-bootstrap interval of one model's `metric` (BOOTSTRAP_SAMPLES resamples).

    Args:
        y_true, y_pred: (N,) class indices.
        metric: "accuracy", "macro_f1" or a score such as recall_of(0).
    """
    score = _score(metric)
    index = _resamples(len(y_true), BOOTSTRAP_SAMPLES, BOOTSTRAP_SEED)
    return _interval(score(y_true, y_pred), score(y_true[index], y_pred[index]))


def proportion_interval(right: np.ndarray) -> Interval:
    """95% Wilson score interval of a share (scipy's): `right` (N,) bools, one per image.

    For a handful of images, or a share of 0% or 100%, a percentile bootstrap collapses to a
    point (every resample of 3 found tumours finds 3); Wilson's interval stays honest there:
    1 of 1 is 21-100%.
    """
    from scipy.stats import binomtest

    right = np.asarray(right, dtype=bool)
    if not len(right):
        raise ValueError("a share of no images has no interval")
    found = binomtest(int(right.sum()), len(right)).proportion_ci(confidence_level=0.95, method="wilson")
    return Interval(float(right.mean()), float(found.low), float(found.high))


def bootstrap_mean(values: np.ndarray) -> Interval:
    """95% percentile-bootstrap interval of the mean of per-image values (e.g. a map's score)."""
    values = np.asarray(values, dtype=float)
    index = _resamples(len(values), BOOTSTRAP_SAMPLES, BOOTSTRAP_SEED)
    return _interval(values.mean(), values[index].mean(axis=1))


def auc(positives: np.ndarray, negatives: np.ndarray) -> float:
    """Area under the ROC: the chance that a random positive scores above a random negative
    (ties count half), from the two groups' scores."""
    negatives = np.sort(np.asarray(negatives, dtype=float))
    below = np.searchsorted(negatives, positives, side="left")
    tied = np.searchsorted(negatives, positives, side="right") - below
    return float((below + tied / 2).mean() / len(negatives))


def auc_interval(positives: np.ndarray, negatives: np.ndarray) -> Interval:
    """auc with a 95% bootstrap interval, each group resampled on its own (their sizes kept)."""
    positives, negatives = np.asarray(positives, dtype=float), np.asarray(negatives, dtype=float)
    pos = _resamples(len(positives), BOOTSTRAP_SAMPLES, BOOTSTRAP_SEED)
    neg = _resamples(len(negatives), BOOTSTRAP_SAMPLES, BOOTSTRAP_SEED + 1)
    draws = np.array([auc(positives[p], negatives[n]) for p, n in zip(pos, neg)])
    return _interval(auc(positives, negatives), draws)


def paired_difference(
    y_true: np.ndarray, pred_a: np.ndarray, pred_b: np.ndarray, metric: str | Callable
) -> Interval:
    """95% bootstrap interval of metric(a) - metric(b), both models on the same resampled images."""
    score = _score(metric)
    index = _resamples(len(y_true), BOOTSTRAP_SAMPLES, BOOTSTRAP_SEED)
    truth = y_true[index]
    draws = score(truth, pred_a[index]) - score(truth, pred_b[index])
    return _interval(score(y_true, pred_a) - score(y_true, pred_b), draws)


@dataclass(frozen=True)
class McNemar:
    both_right: int
    only_a_right: int
    only_b_right: int
    both_wrong: int
    p_value: float  # exact two-sided binomial test on the discordant images


def binomial_two_sided(k: int, n: int) -> float:
    """Exact two-sided p-value of `k` successes in `n` trials at p = 1/2.

    The same value as scipy.stats.binomtest(k, n).pvalue (tests check it), summed over the
    smaller tail with exact integers: importing scipy.stats would cost the Overview about a second.
    """
    tail = sum(math.comb(n, i) for i in range(min(k, n - k) + 1))
    return min(1.0, 2 * tail / 2**n)


def mcnemar(y_true: np.ndarray, pred_a: np.ndarray, pred_b: np.ndarray) -> McNemar:
    """The 2x2 agreement table of two models and McNemar's exact test.

    Under the null hypothesis both models err equally often, so of the images where exactly one
    is right, each model is the right one with probability 1/2.
    """
    right_a, right_b = pred_a == y_true, pred_b == y_true
    only_a, only_b = int((right_a & ~right_b).sum()), int((~right_a & right_b).sum())
    discordant = only_a + only_b
    p_value = binomial_two_sided(only_a, discordant)
    return McNemar(
        both_right=int((right_a & right_b).sum()),
        only_a_right=only_a,
        only_b_right=only_b,
        both_wrong=int((~right_a & ~right_b).sum()),
        p_value=float(p_value),
    )
