"""Seed-to-seed spread: scores per run, and when a difference between models exceeds it."""

import numpy as np
import pandas as pd
import pytest
from test_compare import table as predictions_table

from core.data.dataset import CLASS_NAMES
from core.evaluation import seeds
from core.evaluation.evaluate import metrics_from_predictions

TITLES = {"a": "Model A", "b": "Model B"}


def run(right: int, n: int = 100, seed: int = 0) -> pd.DataFrame:
    """A predictions table of n images, `right` of them answered correctly."""
    rng = np.random.default_rng(seed)
    true = rng.integers(0, len(CLASS_NAMES), n)
    predicted = true.copy()
    predicted[right:] = (true[right:] + 1) % len(CLASS_NAMES)
    rows = [(f"{i}", CLASS_NAMES[t], CLASS_NAMES[p], 0.9) for i, (t, p) in enumerate(zip(true, predicted))]
    return predictions_table(rows)


def runs(rights: list[int]) -> seeds.Spread:
    return seeds.spread({42 + i: run(right) for i, right in enumerate(rights)})


def test_scores_are_scikit_learns():
    tables = {42: run(90, seed=1), 43: run(80, seed=2)}
    spread = seeds.spread(tables)
    assert spread.seeds == (42, 43)
    for seed, accuracy, macro_f1 in zip(spread.seeds, spread.accuracy, spread.macro_f1):
        expected = metrics_from_predictions(tables[seed])
        assert accuracy == pytest.approx(expected.accuracy)
        assert macro_f1 == pytest.approx(expected.macro_f1)
    assert spread.mean == pytest.approx(0.85) and spread.sd == pytest.approx(np.std([0.9, 0.8], ddof=1))


def test_a_difference_beyond_the_spread_is_called_larger():
    apart = {"a": runs([95, 96, 95]), "b": runs([80, 81, 80])}
    assert "larger than the seed-to-seed spread" in seeds.spread_sentence(apart, "a", "b", TITLES)
    assert "every run of one model beats every run of the other" in seeds.spread_sentence(
        apart, "a", "b", TITLES
    )
    close = {"a": runs([88, 92, 88]), "b": runs([89, 91, 89])}
    text = seeds.spread_sentence(close, "a", "b", TITLES)
    assert "not clearly larger" in text and "ranges overlap" in text


def test_a_single_run_has_no_spread_and_says_so():
    single = {"a": seeds.spread({42: run(90)}), "b": seeds.spread({42: run(80)})}
    assert single["a"].sd == 0 and seeds.caption(single["a"]) == "One run (no seed spread)"
    assert "--seeds 3" in seeds.spread_sentence(single, "a", "b", TITLES)
    assert seeds.table(single, TITLES)["runs"].tolist() == [1, 1]


def test_means_are_over_seeds_and_the_served_runs_where_a_model_has_none():
    spread = seeds.Spread(seeds=(42, 43), accuracy=(0.9, 0.8), macro_f1=(0.9, 0.8))
    assert seeds.means({"a": spread}, {"a": 0.95, "b": 0.7}) == {"a": pytest.approx(0.85), "b": 0.7}
