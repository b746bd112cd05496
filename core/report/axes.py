"""The comparison's two axes, per model and seed: accuracy in source (test images of the
collections the models learned from) and tumour recall out of source (the external collection,
at the operating point of matched specificity). The Overview and the report lead with them.
"""

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from core.commands import command
from core.evaluation import seeds, stats
from core.evaluation.seeds import Spread
from core.records import ExternalSummary

IN_SOURCE, OUT_OF_SOURCE = "in source", "out of source"  # the columns of runs_table


def runs_table(spreads: dict[str, Spread], outside: ExternalSummary, titles: dict[str, str]) -> pd.DataFrame:
    """One row per model and seed: model (its title), name, seed, accuracy in source and tumour
    recall out of source (NaN for a run whose model was not kept, so the external set never saw it)."""
    rows = []
    for name, spread in spreads.items():
        runs = outside.models[name].runs if name in outside.models else {}
        for seed, accuracy in zip(spread.seeds, spread.accuracy):
            recall = runs[seed].recall if seed in runs else np.nan
            rows.append(
                {
                    "model": titles[name],
                    "name": name,
                    "seed": seed,
                    IN_SOURCE: accuracy,
                    OUT_OF_SOURCE: recall,
                }
            )
    return pd.DataFrame(rows, columns=["model", "name", "seed", IN_SOURCE, OUT_OF_SOURCE])


def out_of_source_means(outside: ExternalSummary) -> dict[str, float]:
    """Each model's external recall at the operating point, averaged over its scored runs."""
    return {
        name: float(np.mean([run.recall for run in m.runs.values()])) if m.runs else m.recall.estimate
        for name, m in outside.models.items()
    }


def out_of_source_leader(outside: ExternalSummary, per_image: pd.DataFrame) -> tuple[str, str, bool]:
    """(the model finding the most external tumours on average over seeds, the runner-up, whether
    the lead is clear), by the in-source verdict's rule: its served model's paired bootstrap
    interval against the runner-up's, on the same slices, excludes zero, and every run of the
    leader finds more than every run of the runner-up (seeds.separated)."""
    means = out_of_source_means(outside)
    leader, runner_up = sorted(means, key=means.get, reverse=True)[:2]
    called = {name: per_image[f"{name}_called"].astype(int).to_numpy() for name in (leader, runner_up)}
    ones = np.ones(len(per_image), int)
    difference = stats.paired_difference(ones, called[leader], called[runner_up], "accuracy")
    leader_runs, runner_up_runs = (
        [run.recall for run in outside.models[name].runs.values()] for name in (leader, runner_up)
    )
    return leader, runner_up, bool(difference.low > 0 and seeds.separated(leader_runs, runner_up_runs))


def headline(
    in_source: str, outside: ExternalSummary, per_image: pd.DataFrame, titles: dict[str, str]
) -> str:
    """Both axes in two short sentences, e.g. "In source: No clear winner on accuracy. Out of
    source: MobileNetV2 finds the most tumours."

    Args:
        in_source: the in-source verdict's headline (core.evaluation.verdict.headline).
    """
    if len(outside.models) < 2:
        return f"In source: {in_source}"
    leader, _, clear = out_of_source_leader(outside, per_image)
    found = f"{titles[leader]} finds the most tumours." if clear else "no clear leader in tumours found."
    return f"In source: {in_source} Out of source: {found}"


def sentence(table: pd.DataFrame, where: str, outside: ExternalSummary) -> str:
    """The two axes' figures in one sentence: each model's mean accuracy in source and mean
    recall out of source, over its runs (how many, when it is not one).

    Args:
        table: runs_table's rows.
        where: the test images of the in-source axis, e.g. "the clean subset".
    """
    means = table.groupby("model", sort=False)[[IN_SOURCE, OUT_OF_SOURCE]].agg(["mean", "count"])

    def runs(count: int) -> str:
        return "" if count == 1 else f" over {int(count)} seeds"

    in_parts = [
        f"{model} {row[(IN_SOURCE, 'mean')]:.1%}{runs(row[(IN_SOURCE, 'count')])}"
        for model, row in means.iterrows()
    ]
    out_parts = [
        f"{model} {row[(OUT_OF_SOURCE, 'mean')]:.0%}{runs(row[(OUT_OF_SOURCE, 'count')])}"
        for model, row in means.iterrows()
        if row[(OUT_OF_SOURCE, "count")]
    ]
    if not out_parts:  # external.json predates the runs' scores
        rescore = f"Rescore the external set with `{command('external')}` to place the runs out of source."
        return f"Accuracy on {where}: {', '.join(in_parts)}. {rescore}"
    return (
        f"Accuracy on {where}: {', '.join(in_parts)}. Tumours found on {outside.images:,} slices of a "
        "collection none was trained on, at the operating point that keeps "
        f"{outside.target_specificity:.0%} of validation no-tumour slices: {', '.join(out_parts)}."
    )


def missing_note(table: pd.DataFrame) -> str:
    """Which runs the chart cannot place out of source (their model was not kept), or ""."""
    missing = table[table[OUT_OF_SOURCE].isna()]
    if missing.empty:
        return ""
    listed = "; ".join(
        f"{model} seed{'s' if len(group) > 1 else ''} {', '.join(map(str, group['seed']))}"
        for model, group in missing.groupby("model", sort=False)
    )
    return (
        f"In source only ({listed}): trained before every run kept its model, so never scored out of source."
    )


def axes_figure(runs: pd.DataFrame, colors: dict[str, str], where: str) -> go.Figure:
    """Each run of each model placed by its accuracy in source (x) and the tumours it finds out
    of source (y), one colour per model; a ring marks each model's mean over its scored runs.

    Args:
        runs: core.report.axes.runs_table (model, seed, "in source", "out of source"); a run
            without an out-of-source figure is left out.
        colors: model title -> colour.
        where: the in-source test images, for the x axis title (e.g. "the clean subset").
    """
    scored = runs.dropna(subset=["out of source"])
    fig = go.Figure()
    for model, part in scored.groupby("model", sort=False):
        color = colors.get(model)
        fig.add_scatter(
            x=part["in source"],
            y=part["out of source"],
            mode="markers",
            name=model,
            legendgroup=model,
            marker=dict(size=11, color=color, line=dict(color="white", width=1)),
            customdata=part["seed"],
            hovertemplate="seed %{customdata}: %{x:.1%} in source, %{y:.0%} out of source"
            f"<extra>{model}</extra>",
        )
        fig.add_scatter(
            x=[part["in source"].mean()],
            y=[part["out of source"].mean()],
            mode="markers",
            name=f"{model}, mean",
            legendgroup=model,
            showlegend=False,
            marker=dict(size=22, symbol="circle-open", color=color, line=dict(width=2)),
            hovertemplate=f"mean of {len(part)} runs: %{{x:.1%}}, %{{y:.0%}}<extra>{model}</extra>",
        )
    fig.update_layout(
        height=340,
        margin=dict(t=10, b=10),
        xaxis=dict(title=f"accuracy in source ({where})", tickformat=".1%"),
        yaxis=dict(title="tumours found out of source", tickformat=".0%", rangemode="tozero"),
        legend=dict(orientation="h", y=-0.25),
    )
    return fig
