"""Plotly figures: pure functions of tables and arrays, tested without Streamlit."""

import numpy as np
import pandas as pd
import plotly.express as px
import plotly.graph_objects as go

from core import models
from core.calibration import ReliabilityBins
from core.data import CLASS_NAMES, CLASS_TITLES

CLASS_AXIS = [CLASS_TITLES[name] for name in CLASS_NAMES]
LABEL_TITLES = CLASS_TITLES | {"tumour": "Tumour"}  # a tumour of any class


def per_class_bars(table: pd.DataFrame, colors: dict[str, str]) -> go.Figure:
    """Grouped bars of precision / recall / F1 per class, one colour per model.

    Args:
        table: long table with columns model, class, metric, value (see compare.per_class_table).
        colors: model title -> colour.
    """
    shown = table.assign(
        **{"class": table["class"].map(CLASS_TITLES), "metric": table["metric"].str.replace("f1", "F1")}
    )
    fig = px.bar(
        shown,
        x="class",
        y="value",
        color="model",
        barmode="group",
        facet_col="metric",
        color_discrete_map=colors,
        category_orders={"class": CLASS_AXIS, "metric": ["precision", "recall", "F1"]},
        labels={"value": "", "class": ""},
    )
    fig.for_each_annotation(lambda a: a.update(text=a.text.split("=")[-1].capitalize()))
    low = max(0.0, float(table["value"].min()) - 0.05)
    fig.update_yaxes(range=[low, 1.0], tickformat=".0%")
    fig.update_layout(legend_title_text="", margin=dict(t=40, b=10), height=360)
    return fig


def confusion_figure(
    matrix: list[list[int]], normalize: bool, color: str, classes: tuple[str, ...] = CLASS_NAMES
) -> go.Figure:
    """A confusion matrix drawn as a scatter of squares, so a click selects a cell.

    Rows are true classes (top to bottom), columns predicted classes. Each point carries
    customdata [true class, predicted class, count, row percentage].

    Args:
        classes: the rows' and columns' names: the four classes, or e.g. ("tumour", "notumor").
    """
    axis = [LABEL_TITLES[name] for name in classes]
    counts = np.asarray(matrix)
    row_share = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    values = row_share if normalize else counts
    true_idx, pred_idx = np.indices(counts.shape)
    true_idx, pred_idx = true_idx.ravel(), pred_idx.ravel()
    text = [f"{v:.0%}" if normalize else f"{v:d}" for v in values.ravel()]
    customdata = np.stack(
        [
            [classes[i] for i in true_idx],
            [classes[j] for j in pred_idx],
            counts.ravel(),
            (row_share.ravel() * 100).round(1),
        ],
        axis=1,
    )
    fig = go.Figure(
        go.Scatter(
            x=[axis[j] for j in pred_idx],
            y=[axis[i] for i in true_idx],
            mode="markers+text",
            text=text,
            textfont=dict(size=15),
            customdata=customdata,
            hovertemplate=(
                "true %{y} → predicted %{x}<br>%{customdata[2]} images"
                " (%{customdata[3]}% of true %{y})<extra></extra>"
            ),
            marker=dict(
                symbol="square",
                size=62,
                color=row_share.ravel(),
                colorscale=[[0, "#f8fafc"], [1, color]],
                cmin=0,
                cmax=1,
                line=dict(color="white", width=1),
            ),
        )
    )
    fig.update_xaxes(title="Predicted", categoryorder="array", categoryarray=axis, side="top")
    fig.update_yaxes(title="True", categoryorder="array", categoryarray=axis[::-1])
    fig.update_layout(height=380, margin=dict(l=10, r=10, t=60, b=10), plot_bgcolor="white", dragmode=False)
    # Dark text on light cells, light text on dark ones.
    fig.data[0].textfont.color = ["white" if share > 0.55 else "#111827" for share in row_share.ravel()]
    return fig


def training_curves(history: dict, metric: str, color: str) -> go.Figure:
    """Train vs validation `metric` per epoch; phase boundaries, learning-rate drops, best epoch.

    Args:
        history: the contents of history.json.
        metric: "accuracy" or "loss".
    """
    epochs = pd.DataFrame(history["epochs"])
    fig = go.Figure()
    fig.add_scatter(x=epochs["epoch"], y=epochs[metric], name="train", line=dict(color=color, dash="dot"))
    fig.add_scatter(x=epochs["epoch"], y=epochs[f"val_{metric}"], name="validation", line=dict(color=color))
    for phase in history["phases"][1:]:
        fig.add_vline(
            x=phase["first_epoch"] - 0.5,
            line=dict(color="#6b7280", dash="dash"),
            annotation_text=f"{phase['name']} →",
            annotation_position="top right",
        )
    drops = epochs[
        (epochs["learning_rate"] < epochs["learning_rate"].shift())
        & (epochs["phase"] == epochs["phase"].shift())
    ]
    fig.add_scatter(
        x=drops["epoch"],
        y=drops[f"val_{metric}"],
        mode="markers",
        name="learning rate cut",
        marker=dict(symbol="triangle-down", size=11, color="#6b7280"),
        customdata=drops["learning_rate"],
        hovertemplate="epoch %{x}: learning rate %{customdata:.1e}<extra></extra>",
    )
    # The weights kept are those of the last phase's best epoch (lowest validation loss).
    best_rows = epochs[epochs["epoch"] == history["phases"][-1]["best_epoch"]]
    fig.add_scatter(
        x=best_rows["epoch"],
        y=best_rows[f"val_{metric}"],
        mode="markers",
        name="best epoch (kept)",
        marker=dict(symbol="star", size=15, color=color, line=dict(color="black", width=1)),
    )
    fig.update_layout(
        height=340,
        margin=dict(t=30, b=10),
        xaxis_title="epoch",
        yaxis_title=metric,
        yaxis_tickformat=".0%" if metric == "accuracy" else None,
        legend=dict(orientation="h", y=-0.25),
    )
    return fig


def probability_bars(probabilities: dict[str, np.ndarray], titles: dict[str, str]) -> go.Figure:
    """Each model's four class probabilities as horizontal bars, in the model's colour."""
    fig = go.Figure()
    for name, probs in probabilities.items():
        fig.add_bar(
            y=CLASS_AXIS,
            x=probs,
            orientation="h",
            name=titles[name],
            marker_color=models.get(name).color,
            text=[f"{p:.1%}" for p in probs],
            textposition="auto",
        )
    fig.update_layout(
        barmode="group",
        height=300,
        margin=dict(t=10, b=10, l=10, r=10),
        xaxis=dict(range=[0, 1], tickformat=".0%"),
        yaxis=dict(categoryorder="array", categoryarray=CLASS_AXIS[::-1]),
        legend=dict(orientation="h", y=-0.2),
    )
    return fig


def reliability_diagram(curves: dict[str, ReliabilityBins], color: str) -> go.Figure:
    """Accuracy against confidence per bin, one line per curve, and the diagonal of perfect calibration.

    Args:
        curves: label (e.g. "before", "after temperature scaling") -> calibration.reliability_bins.
            The first curve is drawn dotted, the others solid.
        color: the model's colour.
    """
    fig = go.Figure()
    fig.add_scatter(
        x=[0, 1], y=[0, 1], mode="lines", name="perfectly calibrated", line=dict(color="#9ca3af", dash="dash")
    )
    for i, (label, bins) in enumerate(curves.items()):
        counts = np.asarray(bins.count)
        fig.add_scatter(
            x=bins.confidence,
            y=bins.accuracy,
            mode="lines+markers",
            name=label,
            line=dict(color=color, dash="dot" if i == 0 else "solid"),
            marker=dict(size=np.clip(4 + 3 * np.sqrt(counts), 5, 30), opacity=0.6 if i == 0 else 1),
            customdata=counts,
            hovertemplate="confidence %{x:.1%}<br>accuracy %{y:.1%}<br>%{customdata} images"
            "<extra>%{fullData.name}</extra>",
        )
    fig.update_layout(
        height=380,
        margin=dict(t=10, b=10),
        xaxis=dict(title="confidence (top class)", tickformat=".0%", range=[0, 1.02]),
        yaxis=dict(title="accuracy", tickformat=".0%", range=[0, 1.02]),
        legend=dict(orientation="h", y=-0.22),
    )
    return fig


def difference_bars(per_class: pd.DataFrame, label: str, color: str) -> go.Figure:
    """Per-class difference between two models with its 95% interval, one horizontal bar each.

    Args:
        per_class: columns class, difference, low, high (paired.PairedSummary.per_class).
        label: what the difference is, e.g. "recall: MobileNetV2 minus CNN".
    """
    shown = per_class.assign(title=per_class["class"].map(CLASS_TITLES))
    fig = go.Figure()
    fig.add_bar(
        y=shown["title"],
        x=shown["difference"] * 100,
        orientation="h",
        marker_color=[color if d >= 0 else "#9ca3af" for d in shown["difference"]],
        error_x=dict(
            type="data",
            symmetric=False,
            array=(shown["high"] - shown["difference"]) * 100,
            arrayminus=(shown["difference"] - shown["low"]) * 100,
        ),
        text=[f"{d * 100:+.1f}" for d in shown["difference"]],
        textposition="outside",
        hovertemplate="%{y}: %{x:+.1f} points<extra></extra>",
    )
    fig.add_vline(x=0, line=dict(color="#6b7280"))
    fig.update_layout(
        height=260,
        margin=dict(t=10, b=10),
        xaxis_title=f"{label} (points, 95% CI)",
        yaxis=dict(categoryorder="array", categoryarray=CLASS_AXIS[::-1]),
        showlegend=False,
    )
    return fig


def latency_bars(table: pd.DataFrame, colors: dict[str, str]) -> go.Figure:
    """Median milliseconds per measurement and model, with a whisker to the 95th percentile.

    Args:
        table: efficiency.latency_table (model, measurement, median_ms, p95_ms).
        colors: model title -> colour.
    """
    fig = go.Figure()
    order = list(dict.fromkeys(table["measurement"]))
    for model, part in table.groupby("model", sort=False):
        fig.add_bar(
            y=part["measurement"],
            x=part["median_ms"],
            orientation="h",
            name=model,
            marker_color=colors.get(model),
            error_x=dict(
                type="data",
                symmetric=False,
                array=part["p95_ms"] - part["median_ms"],
                arrayminus=[0] * len(part),
            ),
            text=[f"{ms:.1f}" for ms in part["median_ms"]],
            textposition="outside",
            hovertemplate="%{y}: median %{x:.2f} ms<extra>%{fullData.name}</extra>",
        )
    fig.update_layout(
        barmode="group",
        height=120 + 45 * len(order),
        margin=dict(t=10, b=10),
        xaxis=dict(type="log", title="milliseconds (log scale; whisker: 95th percentile)"),
        yaxis=dict(categoryorder="array", categoryarray=order[::-1]),
        legend=dict(orientation="h", y=-0.12),
    )
    return fig
