"""Tumours from collections a model never trained on, side by side: each collection that leave
one source out held out (the fold model's own answer) and the external collection (the served
model at the operating point of matched specificity). The Generalisation page leads with the
differences between models per collection, and the tumours they miss.
"""

from dataclasses import dataclass

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from core.data.dataset import CLASS_NAMES, NOTUMOR
from core.evaluation import stats
from core.report.figures import whiskers

EXTERNAL = "external collection"  # the external set's name among the held-out collections
NO_TUMOUR = CLASS_NAMES[NOTUMOR]
OWN_ANSWER, OPERATING_POINT = "own answer", "matched specificity"  # how "found" is decided


@dataclass(frozen=True)
class HeldOut:
    """One collection's tumours that some models never trained on."""

    collection: str
    rule: str  # OWN_ANSWER or OPERATING_POINT
    found: pd.DataFrame  # one row per tumour: path, true_label, and per model name whether it found it


def fold_tumours(collection: str, tables: dict[str, pd.DataFrame]) -> HeldOut:
    """A leave-one-source-out fold's held-out tumours, from each fold model's predictions table."""
    found = None
    for name, table in tables.items():
        held = table[(table["part"] == "held_out") & (table["true_label"] != NO_TUMOUR)]
        column = held[["path", "true_label"]].assign(**{name: held["predicted_label"] != NO_TUMOUR})
        found = column if found is None else found.merge(column, on=["path", "true_label"], how="inner")
    return HeldOut(collection, OWN_ANSWER, found.reset_index(drop=True))


def external_tumours(per_image: pd.DataFrame, names: list[str]) -> HeldOut:
    """The external set's slices (every one a tumour), from core.studies.external's table."""
    scored = [name for name in names if f"{name}_called" in per_image]
    found = pd.DataFrame({"path": per_image["file"], "true_label": "tumour"})
    for name in scored:
        found[name] = per_image[f"{name}_called"].astype(bool).to_numpy()
    return HeldOut(EXTERNAL, OPERATING_POINT, found)


def differences(held: list[HeldOut], pairs: list[tuple[str, str]], titles: dict[str, str]) -> pd.DataFrame:
    """Tumour recall of a minus b per collection and pair that both models were scored on, with a
    95% paired bootstrap interval (the same resampled tumours for both models).

    Returns:
        columns collection, comparison ("<a> minus <b>"), a, b, tumours, difference, low, high.
    """
    rows = []
    for h in held:
        for a, b in pairs:
            if a not in h.found or b not in h.found:
                continue
            found_a, found_b = (h.found[name].astype(int).to_numpy() for name in (a, b))
            d = stats.paired_difference(np.ones_like(found_a), found_a, found_b, "accuracy")  # recall
            rows.append(
                {
                    "collection": h.collection,
                    "comparison": f"{titles[a]} minus {titles[b]}",
                    "a": a,
                    "b": b,
                    "tumours": len(h.found),
                    "difference": d.estimate,
                    "low": d.low,
                    "high": d.high,
                }
            )
    return pd.DataFrame(
        rows, columns=["collection", "comparison", "a", "b", "tumours", "difference", "low", "high"]
    )


def sentence(diffs: pd.DataFrame, titles: dict[str, str]) -> str:
    """What the first comparison says over the collections, e.g. "On every collection held out of
    training, A finds more tumours than B: +9 points on figshare (95% CI +5 to +13), ..."."""
    if diffs.empty:
        return ""
    first = diffs[diffs["comparison"] == diffs["comparison"].iloc[0]]
    a, b = titles[first["a"].iloc[0]], titles[first["b"].iloc[0]]
    ahead = (first["low"] > 0).all()
    behind = (first["high"] < 0).all()
    figures = "; ".join(
        f"{r.difference * 100:+.1f} points on {_named(r.collection)} ({_points(r.low)} to {_points(r.high)})"
        for r in first.itertuples()
    )
    if ahead:
        verdict = f"On every collection held out of training, **{a} finds more tumours than {b}**"
    elif behind:
        verdict = f"On every collection held out of training, **{b} finds more tumours than {a}**"
    else:
        verdict = f"Out of source, **{a} and {b} are not apart on every collection**"
    return f"{verdict}: {figures} (tumour recall, {a} minus {b}, 95% paired bootstrap CI)."


def _points(share: float) -> str:
    return f"{share * 100:+.1f}"


def _named(collection: str) -> str:
    return f"the {collection}" if collection == EXTERNAL else collection


def missed(h: HeldOut, titles: dict[str, str]) -> pd.DataFrame:
    """The collection's tumours that at least one model misses: path, class, and per model
    "found" or "missed"."""
    names = [column for column in h.found.columns if column not in ("path", "true_label")]
    missing = h.found[~h.found[names].all(axis=1)]
    shown = missing[["path", "true_label"]].rename(columns={"true_label": "class"})
    for name in names:
        shown[titles.get(name, name)] = missing[name].map({True: "found", False: "missed"})
    return shown.reset_index(drop=True)


def held_out_figure(diffs: pd.DataFrame, colors: dict[str, str]) -> go.Figure:
    """Tumour recall differences per held-out collection, one bar per comparison with its 95%
    interval; a click on a bar selects its collection (the point's y).

    Args:
        diffs: core.report.held_out.differences (collection, comparison, difference, low, high).
        colors: comparison -> colour.
    """
    fig = go.Figure()
    order = list(dict.fromkeys(diffs["collection"]))
    for comparison, part in diffs.groupby("comparison", sort=False):
        fig.add_bar(
            y=part["collection"],
            x=part["difference"] * 100,
            orientation="h",
            name=comparison,
            marker_color=colors.get(comparison),
            error_x=whiskers(part),
            customdata=part["tumours"],
            text=[f"{d * 100:+.0f}" for d in part["difference"]],
            textposition="inside",
            insidetextanchor="start",
            hovertemplate="%{y} (%{customdata} tumours): %{x:+.1f} points<extra>%{fullData.name}</extra>",
        )
    fig.add_vline(x=0, line=dict(color="#6b7280"))
    fig.update_layout(
        barmode="group",
        height=140 + 70 * len(order),
        margin=dict(t=10, b=10),
        xaxis_title="tumour recall difference (points, 95% CI)",
        yaxis=dict(categoryorder="array", categoryarray=order[::-1]),
        legend=dict(orientation="h", y=-0.3),
        clickmode="event+select",
    )
    return fig
