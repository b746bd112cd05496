"""Plotly figures of the threshold curves: ROC, precision-recall and referral coverage, one panel
per positive class. Pure functions of core.evaluation.curves' results, tested without Streamlit."""

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from core.evaluation.curves import POSITIVE_TITLES, ClassCurves, OperatingPoint, Referral


def _curve_panels(curves: dict[str, dict[str, ClassCurves]]) -> tuple[go.Figure, list[str]]:
    """One empty panel per positive of the first model's curves, side by side."""
    positives = list(next(iter(curves.values())))
    fig = make_subplots(
        rows=1,
        cols=len(positives),
        subplot_titles=[POSITIVE_TITLES[positive] for positive in positives],
        shared_yaxes=True,
        horizontal_spacing=0.03,
    )
    return fig, positives


_FULL_RANGE = (-0.02, 1.02)


def _curve_layout(
    fig: go.Figure, x_title: str, y_title: str, x_range: tuple[float, float], y_range: tuple[float, float]
) -> go.Figure:
    fig.update_xaxes(title_text=x_title, tickformat=".0%", range=list(x_range))
    fig.update_yaxes(tickformat=".0%", range=list(y_range))
    fig.update_yaxes(title_text=y_title, col=1)
    fig.update_layout(height=380, margin=dict(t=30, b=10), legend=dict(orientation="h", y=-0.25))
    return fig


def roc_curves(
    curves: dict[str, dict[str, ClassCurves]],
    colors: dict[str, str],
    marks: dict[str, OperatingPoint] | None = None,
    corner: bool = False,
) -> go.Figure:
    """One-vs-rest ROC curves, one panel per class, one line per model with its AUC in the legend.

    Args:
        curves: model title -> positive (a class name or TUMOUR) -> its curves; every model
            has the same positives.
        colors: model title -> colour.
        marks: model title -> an operating point, drawn on its curve in its positive's panel.
        corner: show only the top-left corner (false positive rate <= 20%, true positive rate >= 80%),
            where curves near a perfect classifier differ.
    """
    fig, positives = _curve_panels(curves)
    for col, positive in enumerate(positives, start=1):
        fig.add_scatter(
            x=[0, 1], y=[0, 1], mode="lines", name="chance", legendgroup="chance",
            showlegend=col == 1, line=dict(color="#9ca3af", dash="dash"), row=1, col=col,
        )  # fmt: skip
        for title, by_positive in curves.items():
            curve = by_positive[positive]
            fig.add_scatter(
                x=curve.false_positive_rate,
                y=curve.true_positive_rate,
                mode="lines",
                name=f"{title} · {POSITIVE_TITLES[positive]}: AUC {curve.roc_auc:.3f}",
                line=dict(color=colors.get(title)),
                hovertemplate="false positive rate %{x:.1%}<br>true positive rate %{y:.1%}"
                "<extra>%{fullData.name}</extra>",
                row=1,
                col=col,
            )
    for title, point in (marks or {}).items():
        fig.add_scatter(
            x=[1 - point.specificity],
            y=[point.sensitivity],
            mode="markers",
            name=f"{title}: t = {point.threshold:.2f}",
            marker=dict(color=colors.get(title), size=12, symbol="circle-open", line=dict(width=3)),
            hovertemplate=f"t = {point.threshold:.2f}<br>{point.false_positives} false alarms of "
            f"{point.negatives}<br>{point.true_positives} found of {point.positives}<extra></extra>",
            row=1,
            col=positives.index(point.positive) + 1,
        )
    x_range, y_range = ((-0.005, 0.2), (0.8, 1.005)) if corner else (_FULL_RANGE, _FULL_RANGE)
    return _curve_layout(fig, "false positive rate", "true positive rate", x_range, y_range)


def precision_recall_curves(
    curves: dict[str, dict[str, ClassCurves]], colors: dict[str, str], corner: bool = False
) -> go.Figure:
    """Precision against recall, one panel per class, one line per model with its average precision
    in the legend; a dashed line at the share of positives (calling every image positive).

    Args:
        curves: model title -> positive (a class name or TUMOUR) -> its curves.
        colors: model title -> colour.
        corner: show only the top-right corner (recall and precision >= 80%).
    """
    fig, positives = _curve_panels(curves)
    for col, positive in enumerate(positives, start=1):
        prevalence = next(iter(curves.values()))[positive].prevalence
        fig.add_scatter(
            x=[0, 1], y=[prevalence, prevalence], mode="lines", name="chance (share of positives)",
            legendgroup="chance", showlegend=col == 1, line=dict(color="#9ca3af", dash="dash"),
            row=1, col=col,
        )  # fmt: skip
        for title, by_positive in curves.items():
            curve = by_positive[positive]
            fig.add_scatter(
                x=curve.recall,
                y=curve.precision,
                mode="lines",
                line_shape="hv",
                name=f"{title} · {POSITIVE_TITLES[positive]}: AP {curve.average_precision:.3f}",
                line=dict(color=colors.get(title)),
                hovertemplate="recall %{x:.1%}<br>precision %{y:.1%}<extra>%{fullData.name}</extra>",
                row=1,
                col=col,
            )
    corner_range = (0.8, 1.005)
    ranges = (corner_range, corner_range) if corner else (_FULL_RANGE, _FULL_RANGE)
    return _curve_layout(fig, "recall", "precision", *ranges)


def coverage_curve(
    curves: dict[str, pd.DataFrame], colors: dict[str, str], chosen: dict[str, Referral]
) -> go.Figure:
    """Accuracy on the answered images against coverage as the referral threshold t rises, one line
    per model, each model's point at the chosen t marked.

    Args:
        curves: model title -> curves.referral_curve (threshold, coverage, accuracy, answered, images).
        colors: model title -> colour.
        chosen: model title -> its curves.Referral at the chosen t.
    """
    fig = go.Figure()
    for title, table in curves.items():
        fig.add_scatter(
            x=table["coverage"],
            y=table["accuracy"],
            mode="lines",
            name=title,
            line=dict(color=colors.get(title)),
            customdata=table[["threshold", "answered", "images"]].to_numpy(),
            hovertemplate="t = %{customdata[0]:.3f}<br>answers %{customdata[1]} of %{customdata[2]} "
            "(%{x:.1%})<br>accuracy %{y:.1%}<extra>%{fullData.name}</extra>",
        )
    for title, point in chosen.items():
        fig.add_scatter(
            x=[point.coverage],
            y=[point.accuracy],
            mode="markers",
            name=f"{title}: t = {point.threshold:.2f}",
            marker=dict(color=colors.get(title), size=12, symbol="circle-open", line=dict(width=3)),
            hovertemplate=f"t = {point.threshold:.2f}<br>answers {point.answered} of {point.images}"
            f"<br>{point.correct} right<extra></extra>",
        )
    fig.update_layout(
        height=380,
        margin=dict(t=10, b=10),
        xaxis=dict(title="coverage (share of images answered)", tickformat=".0%", range=[0, 1.02]),
        yaxis=dict(title="accuracy on the answered images", tickformat=".0%"),
        legend=dict(orientation="h", y=-0.22),
    )
    return fig
