"""Both axes of the comparison: accuracy in source and tumours found out of source, per model and seed."""

import dataclasses

import numpy as np
import pandas as pd
import pytest

from core.evaluation.seeds import Spread
from core.records import ExternalModel, ExternalRun, ExternalSummary, Interval
from core.report import axes

TITLES = {"a": "Transfer", "b": "Scratch"}


def outside(recalls: dict[str, dict[int, float]], images: int = 40) -> ExternalSummary:
    """An external summary whose models' runs find these shares of `images` tumours; seed 42 serves."""

    def model(runs: dict[int, float]) -> ExternalModel:
        point = Interval(runs[42], runs[42], runs[42])
        scored = {seed: ExternalRun(0.5, recall, recall, 0.99, 0.9) for seed, recall in runs.items()}
        return ExternalModel(0.5, 0.98, point, point, point, point, runs=scored)

    return ExternalSummary(images, (), 405, 0.98, {name: model(runs) for name, runs in recalls.items()})


def per_image(recalls: dict[str, float], images: int = 40) -> pd.DataFrame:
    """Per-slice answers: model `name` calls the first recall * images slices a tumour."""
    return pd.DataFrame(
        {f"{name}_called": np.arange(images) < round(recall * images) for name, recall in recalls.items()}
    )


def test_a_lead_out_of_source_is_clear_only_beyond_the_interval_and_every_seed():
    wide = outside({"a": {42: 0.9, 43: 0.85}, "b": {42: 0.3, 43: 0.35}})
    text = axes.headline("No clear winner on accuracy.", wide, per_image({"a": 0.9, "b": 0.3}), TITLES)
    assert text == "In source: No clear winner on accuracy. Out of source: Transfer finds the most tumours."
    close = outside({"a": {42: 0.55}, "b": {42: 0.5}})
    text = axes.headline("x", close, per_image({"a": 0.55, "b": 0.5}), TITLES)
    assert text.endswith("Out of source: no clear leader in tumours found.")
    noisy = outside({"a": {42: 0.9, 43: 0.2}, "b": {42: 0.3, 43: 0.35}})  # the lead is within a's seeds
    leader, runner_up, clear = axes.out_of_source_leader(noisy, per_image({"a": 0.9, "b": 0.3}))
    assert (leader, runner_up, clear) == ("a", "b", False)
    spread = outside({"a": {42: 0.65, 43: 0.55}, "b": {42: 0.5, 43: 0.2}})  # b's seeds spread, a's stay above
    assert axes.out_of_source_leader(spread, per_image({"a": 0.65, "b": 0.5}))[2]


def test_each_run_is_placed_on_both_axes_and_a_run_without_its_model_is_named():
    spreads = {
        "a": Spread((42, 43), (0.95, 0.94), (0.9, 0.9)),
        "b": Spread((42, 43, 44), (0.96, 0.97, 0.95), (0.9,) * 3),
    }
    found = outside({"a": {42: 0.8, 43: 0.7}, "b": {42: 0.4}})  # b's seeds 43 and 44 kept no model
    runs = axes.runs_table(spreads, found, TITLES)
    assert runs[["model", "seed", axes.IN_SOURCE]].values.tolist() == [
        ["Transfer", 42, 0.95],
        ["Transfer", 43, 0.94],
        ["Scratch", 42, 0.96],
        ["Scratch", 43, 0.97],
        ["Scratch", 44, 0.95],
    ]
    assert runs[axes.OUT_OF_SOURCE].isna().tolist() == [False, False, False, True, True]
    text = axes.sentence(runs, "the clean subset", found)
    assert "Accuracy on the clean subset: Transfer 94.5% over 2 seeds, Scratch 96.0% over 3 seeds." in text
    assert "no-tumour slices: Transfer 75% over 2 seeds, Scratch 40%." in text
    assert axes.missing_note(runs).startswith("In source only (Scratch seeds 43, 44)")
    figure = axes.axes_figure(runs, {"Transfer": "#00f", "Scratch": "#f00"}, "the clean subset")
    dots = [trace for trace in figure.data if trace.showlegend is not False]
    assert [len(trace.x) for trace in dots] == [2, 1]  # the runs placed on both axes
    means = [trace for trace in figure.data if trace.showlegend is False]
    assert means[0].y[0] == pytest.approx(0.75)


def test_an_external_file_without_run_scores_says_how_to_rescore():
    spreads = {"a": Spread((42,), (0.95,), (0.9,))}
    found = outside({"a": {42: 0.8}})
    old = dataclasses.replace(found, models={"a": dataclasses.replace(found.models["a"], runs={})})
    runs = axes.runs_table(spreads, old, TITLES)
    assert "python -m core external" in axes.sentence(runs, "the clean subset", old)
    assert axes.missing_note(runs)
