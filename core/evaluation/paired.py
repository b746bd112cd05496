"""Subsets of the test set, and two models compared on the same images (paired statistics).

Pure pandas and numpy; the statistics themselves are in core.evaluation.stats.
"""

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from core import wording
from core.data.dataset import CLASS_NAMES, class_indices
from core.evaluation import stats


def restrict(table: pd.DataFrame, paths: set[str] | None) -> pd.DataFrame:
    """The rows of a per-image table whose path is in `paths` (all rows if None)."""
    return table if paths is None else table[table["path"].isin(paths)]


def _indices(labels: pd.Series) -> np.ndarray:
    return class_indices(labels).astype(np.int8)  # int8: the bootstrap gathers them often


@dataclass(frozen=True)
class Intervals:
    """95% bootstrap intervals of the headline metrics (of one model, or of a difference)."""

    accuracy: stats.Interval
    macro_f1: stats.Interval


@dataclass(frozen=True)
class PairedSummary:
    """Two models, a and b, on the same images; differences are a minus b."""

    names: tuple[str, str]
    n_images: int
    intervals: dict[str, Intervals]  # model name -> its own intervals
    difference: Intervals  # a minus b, both on the same resamples
    mcnemar: stats.McNemar
    per_class: pd.DataFrame  # class, images, recall of a and b, difference, low, high


def _intervals(score: Callable[[str], stats.Interval]) -> Intervals:
    return Intervals(**{metric: score(metric) for metric in stats.METRICS})


def model_intervals(joined: pd.DataFrame, names: list[str]) -> dict[str, Intervals]:
    """Each model's own 95% bootstrap intervals, every model on the same resamples of these images.

    Args:
        joined: joined_predictions, restricted to the images scored.
    """
    y_true = _indices(joined["true_label"])
    intervals = {}
    for name in names:
        pred = _indices(joined[f"{name}_label"])
        intervals[name] = _intervals(lambda metric, pred=pred: stats.bootstrap_interval(y_true, pred, metric))
    return intervals


def paired_summary(
    joined: pd.DataFrame, names: list[str], intervals: dict[str, Intervals] | None = None
) -> PairedSummary:
    """Both models on the same images: bootstrap CIs, their difference, McNemar, per class.

    Args:
        joined: joined_predictions, restricted to the images compared.
        names: two model names, a then b; differences are a minus b.
        intervals: model_intervals of these images, where the caller has them already (the
            bootstrap is not run twice); computed here otherwise.
    """
    a, b = names
    own = intervals if intervals is not None else model_intervals(joined, names)
    y_true = _indices(joined["true_label"])
    pred = {name: _indices(joined[f"{name}_label"]) for name in names}
    per_class = []
    for i, cls in enumerate(CLASS_NAMES):
        recall = stats.recall_of(i)
        difference = stats.paired_difference(y_true, pred[a], pred[b], recall)
        per_class.append(
            {
                "class": cls,
                "images": int((y_true == i).sum()),
                a: float(recall(y_true[None], pred[a][None])[0]),
                b: float(recall(y_true[None], pred[b][None])[0]),
                "difference": difference.estimate,
                "low": difference.low,
                "high": difference.high,
            }
        )
    return PairedSummary(
        names=(a, b),
        n_images=len(joined),
        intervals={name: own[name] for name in names},
        difference=_intervals(lambda metric: stats.paired_difference(y_true, pred[a], pred[b], metric)),
        mcnemar=stats.mcnemar(y_true, pred[a], pred[b]),
        per_class=pd.DataFrame(per_class),
    )


def agreement_table(test: stats.McNemar, a: str, b: str) -> pd.DataFrame:
    """The 2x2 table of two models' right and wrong answers: rows model a, columns model b."""
    return pd.DataFrame(
        [[test.both_right, test.only_a_right], [test.only_b_right, test.both_wrong]],
        index=[f"{a} right", f"{a} wrong"],
        columns=[f"{b} right", f"{b} wrong"],
    )


def points_with_interval(difference: stats.Interval) -> str:
    """A difference of two rates in percentage points with its interval: "+1.5 points (95% CI ...)"."""
    low, high = difference.low * 100, difference.high * 100
    return f"{difference.estimate * 100:+.1f} points (95% CI {low:+.1f} to {high:+.1f})"


def paired_reading(summary: PairedSummary, titles: dict[str, str]) -> str:
    """The paired comparison (paired_summary) in plain words, the more accurate model first."""
    a, b = summary.names
    difference, test = summary.difference.accuracy, summary.mcnemar
    if difference.estimate < 0:  # say it the way round that reads naturally
        a, b = b, a
        difference = stats.Interval(-difference.estimate, -difference.high, -difference.low)
        only_a, only_b = test.only_b_right, test.only_a_right
    else:
        only_a, only_b = test.only_a_right, test.only_b_right
    points = points_with_interval(difference).lstrip("+")
    verdict = (
        "a difference this sample cannot tell from chance"
        if test.p_value >= 0.05 or difference.low <= 0
        else "a difference unlikely to be chance"
    )
    return (
        f"On these {summary.n_images:,} images **{titles[a]}** is more accurate by {points}: "
        f"it is right on {only_a} images where {titles[b]} is wrong, and wrong on {only_b} where "
        f"{titles[b]} is right (McNemar's exact test, {wording.p_text(test.p_value)}), {verdict}."
    )
