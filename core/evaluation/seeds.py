"""Seed-to-seed spread: every run of a model (core train --seeds), scored on the same test images.

A single run's bootstrap interval says how much the score would move on other test images;
the spread over seeds says how much it moves when only the initial weights, the shuffling and
the augmentation change. A difference between two models is worth reporting when it exceeds both:
its interval excludes zero, and every run of the model ahead beats every run of the other
(`separated`), on either axis of the comparison.
"""

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.data.dataset import class_indices
from core.evaluation import stats

LABEL_COLUMNS = ("true_label", "predicted_label")  # in every predictions table


@dataclass(frozen=True)
class Spread:
    """One model's runs, scored on one set of test images."""

    seeds: tuple[int, ...]
    accuracy: tuple[float, ...]
    macro_f1: tuple[float, ...]

    @property
    def runs(self) -> int:
        return len(self.seeds)

    @property
    def mean(self) -> float:
        return float(np.mean(self.accuracy))

    @property
    def sd(self) -> float:
        """Sample standard deviation of the accuracy; 0 for a single run."""
        return float(np.std(self.accuracy, ddof=1)) if self.runs > 1 else 0.0


def separated(ahead: Sequence[float], behind: Sequence[float]) -> bool:
    """Whether every run of the model ahead scores above every run of the other: a lead that holds
    whichever seeds are drawn. With three runs each, complete separation by chance has a one-sided
    permutation p of 1/20 = 0.05. With one run on either side there is no spread to weigh, and
    the lead stands on its interval alone (True).
    """
    if min(len(ahead), len(behind)) < 2:
        return True
    return min(ahead) > max(behind)


def means(spreads: dict[str, Spread], served: dict[str, float]) -> dict[str, float]:
    """Each model of `served` (its served run's accuracy) by its mean accuracy over its runs, where
    `spreads` has them; the served run's accuracy for a model without."""
    return {name: spreads[name].mean if name in spreads else accuracy for name, accuracy in served.items()}


def spread(runs: dict[int, pd.DataFrame]) -> Spread:
    """Accuracy and macro F1 of each run (as scikit-learn computes them, without importing it).

    Args:
        runs: seed -> that run's predictions table (already restricted to the images to score).
    """
    scores = {}
    for seed, table in sorted(runs.items()):
        y_true, y_pred = (class_indices(table[column]) for column in LABEL_COLUMNS)
        scores[seed] = [float(stats.METRICS[metric](y_true, y_pred)) for metric in ("accuracy", "macro_f1")]
    return Spread(
        seeds=tuple(scores),
        accuracy=tuple(accuracy for accuracy, _ in scores.values()),
        macro_f1=tuple(macro_f1 for _, macro_f1 in scores.values()),
    )


def caption(s: Spread) -> str:
    """A model card's line: its mean accuracy and spread over seeds."""
    if s.runs < 2:
        return "One run (no seed spread)"
    return f"Over {s.runs} seeds: accuracy {s.mean:.1%} on average, SD {s.sd * 100:.1f} points"


def table(spreads: dict[str, Spread], titles: dict[str, str]) -> pd.DataFrame:
    """One row per model: runs, mean and SD of accuracy (None for one run), its range, mean macro F1."""
    return pd.DataFrame(
        [
            {
                "model": titles[name],
                "runs": s.runs,
                "mean accuracy": s.mean,
                "SD": s.sd if s.runs > 1 else None,  # one run: no spread to speak of
                "lowest": min(s.accuracy),
                "highest": max(s.accuracy),
                "mean macro F1": float(np.mean(s.macro_f1)),
            }
            for name, s in spreads.items()
        ]
    )


def spread_sentence(spreads: dict[str, Spread], a: str, b: str, titles: dict[str, str]) -> str:
    """Whether the difference of two models' mean accuracies exceeds their seed-to-seed spread."""
    first, second = spreads[a], spreads[b]
    if min(first.runs, second.runs) < 2:
        single = titles[a] if first.runs < 2 else titles[b]
        return f"{single} has one run: train it with `--seeds 3` to compare against the seed-to-seed spread."
    difference = (first.mean - second.mean) * 100
    widest = max(first.sd, second.sd) * 100
    apart = min(first.accuracy) > max(second.accuracy) or min(second.accuracy) > max(first.accuracy)
    size = "larger" if abs(difference) > 2 * widest else "not clearly larger"
    return (
        f"Over {first.runs} and {second.runs} seeds, {titles[a]} minus {titles[b]} is "
        f"{difference:+.1f} points of mean accuracy, {size} than the seed-to-seed spread "
        f"(SD up to {widest:.1f} points); "
        + ("every run of one model beats every run of the other." if apart else "their runs' ranges overlap.")
    )
