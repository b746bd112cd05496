"""Calibration: reliability bins, expected calibration error, Brier score, temperature scaling.

Temperature scaling divides the logits by one number T fitted on the validation split (never
on the test set): T > 1 softens over-confident probabilities, T < 1 sharpens timid ones. The
predicted class never changes, so accuracy does not either. The scaling itself is serving's
(core.serving.predict.calibrated): Live prediction shows every answer through it.
"""

from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.data.dataset import PROBABILITY_COLUMNS, class_indices
from core.serving.predict import calibrated as scale

N_BINS = 15
_EPSILON = 1e-12
# A temperature this close to 1 changes a confidence by a point or two: already calibrated.
CALIBRATED_WITHIN = 0.1


def negative_log_likelihood(probabilities: np.ndarray, y_true: np.ndarray) -> float:
    return float(-np.log(np.clip(probabilities[np.arange(len(y_true)), y_true], _EPSILON, 1.0)).mean())


def fit_temperature(probabilities: np.ndarray, y_true: np.ndarray) -> float:
    """The temperature that minimises the negative log-likelihood of `y_true` (validation labels)."""
    from scipy.optimize import minimize_scalar  # imported on use: keeps the dashboard's start fast

    result = minimize_scalar(
        lambda log_t: negative_log_likelihood(scale(probabilities, np.exp(log_t)), y_true),
        bounds=(np.log(0.05), np.log(20.0)),
        method="bounded",
    )
    return float(np.exp(result.x))


def validation_temperature(validation: pd.DataFrame) -> float:
    """The temperature fitted on a model's validation predictions (true_label and the probability columns)."""
    return fit_temperature(*_arrays(validation))


def scaled_table(table: pd.DataFrame, temperature: float) -> pd.DataFrame:
    """A predictions table with its probability columns temperature-scaled; labels stay as they are."""
    scaled = table.copy()
    scaled[PROBABILITY_COLUMNS] = scale(table[PROBABILITY_COLUMNS].to_numpy(), temperature)
    return scaled


def brier_score(probabilities: np.ndarray, y_true: np.ndarray) -> float:
    """Mean over images of the squared distance between the probabilities and the one-hot truth."""
    one_hot = np.eye(probabilities.shape[1])[y_true]
    return float(((probabilities - one_hot) ** 2).sum(axis=1).mean())


@dataclass(frozen=True)
class ReliabilityBins:
    """Top-label reliability over the non-empty confidence bins, one entry per bin."""

    confidence: list[float]  # mean confidence of the images in the bin
    accuracy: list[float]  # their accuracy
    count: list[int]  # how many
    low: list[float]  # the bin's edges
    high: list[float]


def reliability_bins(probabilities: np.ndarray, y_true: np.ndarray, n_bins: int = N_BINS) -> ReliabilityBins:
    """Images binned by confidence (equal-width bins on [0, 1])."""
    confidence = probabilities.max(axis=1)
    correct = probabilities.argmax(axis=1) == y_true
    edges = np.linspace(0, 1, n_bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1], right=True), 0, n_bins - 1)
    filled = [b for b in range(n_bins) if (which == b).any()]
    return ReliabilityBins(
        confidence=[float(confidence[which == b].mean()) for b in filled],
        accuracy=[float(correct[which == b].mean()) for b in filled],
        count=[int((which == b).sum()) for b in filled],
        low=[float(edges[b]) for b in filled],
        high=[float(edges[b + 1]) for b in filled],
    )


def expected_calibration_error(probabilities: np.ndarray, y_true: np.ndarray, n_bins: int = N_BINS) -> float:
    """Gap between confidence and accuracy, averaged over the bins weighted by their size."""
    bins = reliability_bins(probabilities, y_true, n_bins)
    counts = np.array(bins.count)
    gaps = np.abs(np.array(bins.accuracy) - np.array(bins.confidence))
    return float((gaps * counts).sum() / counts.sum()) if counts.size else 0.0


@dataclass(frozen=True)
class Scores:
    """How well one set of probabilities is calibrated."""

    ece: float  # expected calibration error
    brier: float
    nll: float  # negative log-likelihood (log loss)
    mean_confidence: float
    accuracy: float


def summary(probabilities: np.ndarray, y_true: np.ndarray) -> Scores:
    """ECE, Brier score, negative log-likelihood, mean confidence and accuracy."""
    return Scores(
        ece=expected_calibration_error(probabilities, y_true),
        brier=brier_score(probabilities, y_true),
        nll=negative_log_likelihood(probabilities, y_true),
        mean_confidence=float(probabilities.max(axis=1).mean()),
        accuracy=float((probabilities.argmax(axis=1) == y_true).mean()),
    )


@dataclass(frozen=True)
class Report:
    """A temperature fitted on validation, and the test images before and after it."""

    temperature: float
    before: Scores
    after: Scores
    bins_before: ReliabilityBins
    bins_after: ReliabilityBins


def report(validation: pd.DataFrame, test: pd.DataFrame) -> Report:
    """Temperature fitted on the validation predictions, and the test set before and after it.

    Args:
        validation, test: predictions tables (true_label and the probability columns).
    """
    temperature = validation_temperature(validation)
    probabilities, y_true = _arrays(test)
    scaled = scale(probabilities, temperature)
    return Report(
        temperature=temperature,
        before=summary(probabilities, y_true),
        after=summary(scaled, y_true),
        bins_before=reliability_bins(probabilities, y_true),
        bins_after=reliability_bins(scaled, y_true),
    )


def _arrays(table: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    return table[PROBABILITY_COLUMNS].to_numpy(), class_indices(table["true_label"])


def report_table(reports: dict[str, Report], titles: dict[str, str]) -> pd.DataFrame:
    """Two rows per model, before (temperature 1) and after temperature scaling, for the page's table."""
    rows = [
        {
            "model": titles[name],
            "temperature": temperature,
            "expected calibration error": scores.ece,
            "Brier score": scores.brier,
            "log loss": scores.nll,
            "mean confidence": scores.mean_confidence,
            "accuracy": scores.accuracy,
        }
        for name, report in reports.items()
        for temperature, scores in ((1.0, report.before), (report.temperature, report.after))
    ]
    return pd.DataFrame(rows)


def lean(temperature: float) -> str:
    """How raw answers lean, given their temperature: under-confident, over-confident or calibrated."""
    if abs(temperature - 1) <= CALIBRATED_WITHIN:
        return "calibrated"
    return "under-confident" if temperature < 1 else "over-confident"


_MEANING = {
    "under-confident": "so its raw answers understate how often it is right",
    "over-confident": "so its raw answers overstate how often it is right",
    "calibrated": "so its raw answers already match how often it is right",
}


def _finding(title: str, report: Report) -> str:
    leaning, raw = lean(report.temperature), report.before
    return (
        f"{title} is {leaning}: its temperature is {report.temperature:.2f}, {_MEANING[leaning]} "
        f"({raw.mean_confidence:.0%} confident on average on these test images, right on {raw.accuracy:.0%})"
    )


def finding(reports: dict[str, Report], titles: dict[str, str]) -> str:
    """What calibration finds, one clause per model, from its temperature and its raw test answers.

    E.g. "Custom CNN is under-confident: its temperature is 0.39, so its raw answers understate how
    often it is right (82% confident on average on these test images, right on 97%); ...".
    """
    return "; ".join(_finding(titles[name], report) for name, report in reports.items()) + "."
