"""One-vs-rest ROC and precision-recall curves, and operating points: when to answer, when to refer.

Two rules turn a model's probabilities into decisions, both "yes when a score is at least t":
- refer when confidence < t: the model answers the images whose top probability is at least t
  and refers the rest to a person. Coverage is the share it answers; accuracy is on those.
- a threshold on one class's probability: call the class when its probability is at least t; or
  call "any tumour" when P(tumour) = 1 - P(no tumor) is at least t, i.e. when P(no tumor) <= 1 - t.
  Sensitivity, specificity and precision follow.

Every rate comes with the counts it is made of. Pure numpy, pandas and scikit-learn.
"""

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from core.data.dataset import CLASS_INDEX, CLASS_NAMES, CLASS_TITLES, NOTUMOR, PROBABILITY_COLUMNS, TUMOUR
from core.wording import share

POSITIVES = (TUMOUR, *CLASS_NAMES)  # what a threshold can call
POSITIVE_TITLES = {TUMOUR: "Tumour (any class)"} | CLASS_TITLES
THRESHOLDS = np.linspace(0.0, 1.0, 201)  # the referral curve's t: steps of 0.005


def _check(positive: str) -> None:
    if positive not in POSITIVES:
        raise ValueError(f"unknown class {positive!r}; choose one of {', '.join(POSITIVES)}")


def binary_labels_and_scores(table: pd.DataFrame, positive: str) -> tuple[np.ndarray, np.ndarray]:
    """Which images are positive, and the score a threshold is put on.

    Args:
        table: a predictions table (core.evaluation.evaluate.predictions_table).
        positive: a class name, or TUMOUR (score 1 - P(no tumor)).

    Returns:
        (N,) bool, true for the positive images; (N,) float scores.

    Raises:
        ValueError: `positive` is neither a class name nor TUMOUR.
    """
    _check(positive)
    if positive == TUMOUR:
        is_positive = table["true_label"] != CLASS_NAMES[NOTUMOR]
        scores = 1.0 - table[PROBABILITY_COLUMNS[NOTUMOR]].to_numpy(float)
    else:
        is_positive = table["true_label"] == positive
        scores = table[PROBABILITY_COLUMNS[CLASS_INDEX[positive]]].to_numpy(float)
    return is_positive.to_numpy(bool), scores


@dataclass(frozen=True)
class ClassCurves:
    """One positive (a class, or TUMOUR) against the rest: its ROC and precision-recall curves."""

    positive: str
    positives: int  # images of the positive class
    negatives: int  # all the others
    false_positive_rate: np.ndarray  # (K,) ROC x, from 0 to 1
    true_positive_rate: np.ndarray  # (K,) ROC y
    roc_auc: float
    recall: np.ndarray  # (M,) precision-recall x
    precision: np.ndarray  # (M,) precision-recall y
    average_precision: float  # the area under the precision-recall steps

    @property
    def prevalence(self) -> float:
        """The share of positives: the precision of calling every image positive."""
        return self.positives / (self.positives + self.negatives)


def class_curves(table: pd.DataFrame, positive: str) -> ClassCurves:
    """ROC and precision-recall curves of one positive against the rest.

    Args:
        table: a predictions table.
        positive: a class name, or TUMOUR.

    Raises:
        ValueError: unknown `positive`, or the images hold no positive or no negative.
    """
    # Imported here: scikit-learn takes over a second to import (see core.evaluation.evaluate).
    from sklearn.metrics import auc, average_precision_score, precision_recall_curve, roc_curve

    is_positive, scores = binary_labels_and_scores(table, positive)
    positives = int(is_positive.sum())
    negatives = len(is_positive) - positives
    if positives == 0 or negatives == 0:
        raise ValueError(
            f"a ROC curve for {positive!r} needs positive and negative images; "
            f"these {len(is_positive)} images have {positives} positive and {negatives} negative"
        )
    fpr, tpr, _ = roc_curve(is_positive, scores)
    precision, recall, _ = precision_recall_curve(is_positive, scores)
    return ClassCurves(
        positive=positive,
        positives=positives,
        negatives=negatives,
        false_positive_rate=fpr,
        true_positive_rate=tpr,
        roc_auc=float(auc(fpr, tpr)),
        recall=recall,
        precision=precision,
        average_precision=float(average_precision_score(is_positive, scores)),
    )


def per_class_curves(table: pd.DataFrame) -> dict[str, ClassCurves]:
    """class_curves of each class against the other three, in CLASS_NAMES order.

    Their ROC AUCs average to the macro one-vs-rest AUC of core.evaluation.evaluate.classification_metrics.
    """
    return {name: class_curves(table, name) for name in CLASS_NAMES}


def auc_table(curves_by_model: dict[str, dict[str, ClassCurves]], titles: dict[str, str]) -> pd.DataFrame:
    """One row per class and model: class (its title), model, ROC AUC, average precision, positives,
    negatives.

    Args:
        curves_by_model: model name -> positive -> its curves (per_class_curves).
        titles: model name -> its title.
    """
    rows = [
        {
            "class": POSITIVE_TITLES[positive],
            "model": titles[name],
            "ROC AUC": curves[positive].roc_auc,
            "average precision": curves[positive].average_precision,
            "positives": curves[positive].positives,
            "negatives": curves[positive].negatives,
        }
        for positive in POSITIVES
        for name, curves in curves_by_model.items()
        if positive in curves
    ]
    return pd.DataFrame(rows)


def _rate(count: int, total: int) -> float | None:
    return count / total if total else None


@dataclass(frozen=True)
class Referral:
    """The rule "refer when confidence < t" on a set of images."""

    threshold: float
    images: int
    answered: int  # images with confidence >= threshold
    correct: int  # answered and right
    errors: int  # wrong top-class answers among all the images, answered or referred

    @property
    def coverage(self) -> float | None:
        """The share of the images answered."""
        return _rate(self.answered, self.images)

    @property
    def accuracy(self) -> float | None:
        """Accuracy on the answered images; None where none is answered."""
        return _rate(self.correct, self.answered)

    @property
    def referred(self) -> int:
        return self.images - self.answered

    @property
    def errors_referred(self) -> int:
        """The wrong answers the rule keeps from being given."""
        return self.errors - (self.answered - self.correct)


def _confidence_and_correct(table: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(N,) top-class probability and (N,) whether the top class is the true one."""
    probabilities = table[PROBABILITY_COLUMNS].to_numpy(float)
    correct = (table["predicted_label"] == table["true_label"]).to_numpy(bool)
    return probabilities.max(axis=1), correct


def referrals(table: pd.DataFrame, thresholds: np.ndarray | list[float] = THRESHOLDS) -> list[Referral]:
    """ "Refer when confidence < t" for each t in `thresholds`."""
    confidence, correct = _confidence_and_correct(table)
    answered = confidence[None, :] >= np.asarray(thresholds, float)[:, None]  # (T, N)
    errors = int((~correct).sum())
    return [
        Referral(float(t), len(correct), int(row.sum()), int((row & correct).sum()), errors)
        for t, row in zip(thresholds, answered)
    ]


def referral(table: pd.DataFrame, threshold: float) -> Referral:
    """ "Refer when confidence < threshold" on these images."""
    return referrals(table, [threshold])[0]


def referral_curve(table: pd.DataFrame, thresholds: np.ndarray | list[float] = THRESHOLDS) -> pd.DataFrame:
    """Coverage and accuracy as t rises: threshold, coverage, accuracy (NaN where nothing is
    answered), answered, correct, images; one row per threshold."""
    return pd.DataFrame(
        [
            {
                "threshold": point.threshold,
                "coverage": point.coverage,
                "accuracy": np.nan if point.accuracy is None else point.accuracy,
                "answered": point.answered,
                "correct": point.correct,
                "images": point.images,
            }
            for point in referrals(table, thresholds)
        ]
    )


def referral_table(points: dict[str, Referral], titles: dict[str, str]) -> pd.DataFrame:
    """Each model's referral at one t, every rate with its counts.

    Args:
        points: model name -> its Referral; titles: model name -> its title.
    """
    return _per_model(
        points,
        titles,
        lambda point: {
            "answered (coverage)": share(point.answered, point.images),
            "accuracy on answered": share(point.correct, point.answered),
            "referred": point.referred,
            "errors referred": share(point.errors_referred, point.errors),
        },
    )


def _per_model(
    points: dict[str, Any], titles: dict[str, str], columns: Callable[[Any], dict]
) -> pd.DataFrame:
    """One row per model: its title, then `columns` of its point."""
    return pd.DataFrame([{"model": titles[name], **columns(point)} for name, point in points.items()])


@dataclass(frozen=True)
class OperatingPoint:
    """A threshold on one positive's score: positive when the score is at least `threshold`."""

    positive: str  # a class name, or TUMOUR
    threshold: float
    true_positives: int
    false_negatives: int
    true_negatives: int
    false_positives: int

    @property
    def positives(self) -> int:
        return self.true_positives + self.false_negatives

    @property
    def negatives(self) -> int:
        return self.true_negatives + self.false_positives

    @property
    def sensitivity(self) -> float | None:
        return _rate(self.true_positives, self.positives)

    @property
    def specificity(self) -> float | None:
        return _rate(self.true_negatives, self.negatives)

    @property
    def precision(self) -> float | None:
        return _rate(self.true_positives, self.true_positives + self.false_positives)


def operating_point(table: pd.DataFrame, positive: str, threshold: float) -> OperatingPoint:
    """Call `positive` where its score (binary_labels_and_scores) is at least `threshold`.

    Raises:
        ValueError: `positive` is neither a class name nor TUMOUR.
    """
    is_positive, scores = binary_labels_and_scores(table, positive)
    called = scores >= threshold
    return OperatingPoint(
        positive=positive,
        threshold=float(threshold),
        true_positives=int((called & is_positive).sum()),
        false_negatives=int((~called & is_positive).sum()),
        true_negatives=int((~called & ~is_positive).sum()),
        false_positives=int((called & ~is_positive).sum()),
    )


def operating_table(points: dict[str, OperatingPoint], titles: dict[str, str]) -> pd.DataFrame:
    """Each model's operating point at one t, every rate with its counts.

    Args:
        points: model name -> its OperatingPoint; titles: model name -> its title.
    """
    return _per_model(
        points,
        titles,
        lambda point: {
            "sensitivity": share(point.true_positives, point.positives),
            "specificity": share(point.true_negatives, point.negatives),
            "precision": share(point.true_positives, point.true_positives + point.false_positives),
            "missed": point.false_negatives,
            "false alarms": point.false_positives,
        },
    )


def rule(positive: str, threshold: float) -> str:
    """The threshold rule in words, e.g. "Glioma when P(glioma) ≥ 0.50".

    Raises:
        ValueError: `positive` is neither a class name nor TUMOUR.
    """
    _check(positive)
    if positive == TUMOUR:
        return (
            f"tumour when P(tumour) = 1 − P(no tumor) ≥ {threshold:.2f}, "
            f"i.e. when P(no tumor) ≤ {1 - threshold:.2f}"
        )
    return f"{CLASS_TITLES[positive]} when P({CLASS_TITLES[positive].lower()}) ≥ {threshold:.2f}"


TARGET_SPECIFICITY = 0.98  # of the validation no-tumour slices, called no tumour at the operating point


def tumour_scores(table: pd.DataFrame) -> np.ndarray:
    """P(tumour) = 1 - P(notumor) of each row of a predictions table."""
    return 1.0 - table[PROBABILITY_COLUMNS[NOTUMOR]].to_numpy(float)


def operating_threshold(validation: pd.DataFrame, target: float = TARGET_SPECIFICITY) -> float:
    """The lowest P(tumour) threshold at which at least `target` of the validation no-tumour slices
    score at or below it (and so are called no tumour)."""
    scores = np.sort(tumour_scores(validation[validation["true_label"] == "notumor"]))
    keep = math.ceil(target * len(scores) - 1e-9)  # slices that must score at or below it
    return float(scores[keep - 1])
