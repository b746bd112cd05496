"""Plotly figures: pure functions of tables and arrays, tested without Streamlit.

The ROC, precision-recall and coverage curves are in core.report.curve_figures.
"""

import numpy as np
import pandas as pd
import plotly.express as px
import plotly.graph_objects as go

from core.data.dataset import CLASS_NAMES, CLASS_TITLES, LABEL_TITLES
from core.evaluation.calibration import ReliabilityBins
from core.models import registry

CLASS_AXIS = [CLASS_TITLES[name] for name in CLASS_NAMES]


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
    fig.update_xaxes(automargin=True)
    fig.update_layout(legend_title_text="", margin=dict(t=40, b=10), height=360)
    return fig


ERROR_COLOR = "#dc2626"  # off-diagonal cells: the mistakes
EMPTY_CELL = "#f1f5f9"


def shade(share: float, color: str) -> str:
    """`color` mixed into a pale grey by `share` (0: grey, 1: the colour), as an rgb() string."""
    red, green, blue = px.colors.find_intermediate_color(
        px.colors.hex_to_rgb(EMPTY_CELL), px.colors.hex_to_rgb(color), share, colortype="tuple"
    )
    return f"rgb({red:.0f}, {green:.0f}, {blue:.0f})"


SELECTED_OUTLINE = "#facc15"


def _matrix(
    classes: tuple[str, ...],
    text: list[str],
    fills: list[str],
    strength: list[float],
    customdata: np.ndarray,
    hovertemplate: str,
    selected: tuple[str, str] | None = None,
) -> go.Figure:
    """A square matrix, row by row: each cell a filled rectangle that scales with the figure, under
    a clickable point carrying its text, customdata and hover; an outline around `selected`.

    Args:
        classes: the rows' (true) and columns' (predicted) names, top to bottom, left to right.
        strength: per cell, 0-1: how dark its fill is (white text above 0.55).
    """
    n = len(classes)
    axis = [LABEL_TITLES[name] for name in classes]
    true_idx, pred_idx = (index.ravel() for index in np.indices((n, n)))
    fig = go.Figure(
        go.Scatter(
            x=[axis[j] for j in pred_idx],
            y=[axis[i] for i in true_idx],
            mode="markers+text",
            text=text,
            textfont=dict(size=15, color=["white" if k > 0.55 else "#111827" for k in strength]),
            customdata=customdata,
            hovertemplate=hovertemplate,
            marker=dict(symbol="square", size=36, color="rgba(0,0,0,0)"),  # to click; the cell is a shape
            # Plotly fades the points a selection leaves out: keep every cell as it is.
            selected=dict(marker=dict(opacity=1)),
            unselected=dict(marker=dict(opacity=1)),
            showlegend=False,
        )
    )

    def cell(i: int, j: int, **style: object) -> None:  # row i from the top, column j from the left
        fig.add_shape(type="rect", x0=j - 0.5, x1=j + 0.5, y0=n - 1 - i - 0.5, y1=n - 1 - i + 0.5, **style)

    for i, j, fill in zip(true_idx, pred_idx, fills):
        cell(i, j, fillcolor=fill, line=dict(color="white", width=2), layer="below")
    if selected is not None:
        true_label, predicted_label = selected
        cell(
            classes.index(true_label),
            classes.index(predicted_label),
            line=dict(color=SELECTED_OUTLINE, width=4),
        )
    plain = dict(categoryorder="array", showgrid=False, zeroline=False, automargin=True)
    fig.update_xaxes(title="Predicted", categoryarray=axis, side="top", **plain)
    fig.update_yaxes(title="True", categoryarray=axis[::-1], scaleanchor="x", constrain="domain", **plain)
    fig.update_layout(
        height=380, margin=dict(l=10, r=10, t=60, b=10), dragmode=False, plot_bgcolor="rgba(0,0,0,0)"
    )
    return fig


def confusion_figure(
    matrix: list[list[int]],
    normalize: bool,
    color: str,
    classes: tuple[str, ...] = CLASS_NAMES,
    selected: tuple[str, str] | None = None,
) -> go.Figure:
    """A confusion matrix whose cells can be clicked (a point on each, see _matrix).

    Rows are true classes (top to bottom), columns predicted classes. Each point carries
    customdata [true class, predicted class, count, row percentage]. Right answers (the diagonal)
    are shaded in the model's colour, mistakes in red, each by its share of the row.

    Args:
        classes: the rows' and columns' names: the four classes, or e.g. ("tumour", "notumor").
        selected: (true class, predicted class) of a cell to outline.
    """
    counts = np.asarray(matrix)
    row_share = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    values = row_share if normalize else counts
    true_idx, pred_idx = (index.ravel() for index in np.indices(counts.shape))
    shares = row_share.ravel()
    # A mistake's share is small: shade errors on a scale that reaches full red at 25% of the row.
    strength = [s if i == j else min(1.0, 4 * s) for i, j, s in zip(true_idx, pred_idx, shares)]
    return _matrix(
        classes,
        text=[f"{v:.0%}" if normalize else f"{v:d}" for v in values.ravel()],
        fills=[shade(k, color if i == j else ERROR_COLOR) for i, j, k in zip(true_idx, pred_idx, strength)],
        strength=strength,
        customdata=np.stack(
            [
                [classes[i] for i in true_idx],
                [classes[j] for j in pred_idx],
                counts.ravel(),
                (shares * 100).round(1),
            ],
            axis=1,
        ),  # fmt: skip
        hovertemplate=(
            "true %{y} → predicted %{x}<br>%{customdata[2]} images"
            " (%{customdata[3]}% of true %{y})<extra></extra>"
        ),
        selected=selected,
    )


def confusion_difference_figure(
    a: list[list[int]], b: list[list[int]], colors: tuple[str, str], names: tuple[str, str]
) -> go.Figure:
    """Model a's confusion matrix minus model b's, in images, on the same test images.

    A cell is shaded in the colour of the model that does better there: more images on the
    diagonal, fewer off it. Each point carries customdata [true class, predicted class, a, b].
    """
    first, second = np.asarray(a), np.asarray(b)
    difference = first - second
    true_idx, pred_idx = (index.ravel() for index in np.indices(difference.shape))
    better_for_a = np.where(true_idx == pred_idx, difference.ravel(), -difference.ravel())
    scale = max(int(np.abs(difference).max()), 1)
    return _matrix(
        CLASS_NAMES,
        text=[f"{d:+d}" if d else "0" for d in difference.ravel()],
        fills=[shade(abs(d) / scale, colors[0] if d > 0 else colors[1]) for d in better_for_a],
        strength=[abs(d) / scale for d in better_for_a],
        customdata=np.stack(
            [
                [CLASS_NAMES[i] for i in true_idx],
                [CLASS_NAMES[j] for j in pred_idx],
                first.ravel(),
                second.ravel(),
            ],
            axis=1,
        ),  # fmt: skip
        hovertemplate=(
            f"true %{{y}} → predicted %{{x}}<br>{names[0]}: %{{customdata[2]}}, "
            f"{names[1]}: %{{customdata[3]}}<extra></extra>"
        ),
    )


def cam_colour_bar() -> go.Figure:
    """The key to the CAM overlays' colours (core.serving.gradcam's jet): from no effect to the strongest."""
    fig = go.Figure(
        go.Heatmap(z=[np.linspace(0, 1, 101)], x=np.linspace(0, 1, 101), colorscale="Jet", showscale=False)
    )
    fig.update_xaxes(
        title="map value: how much a region raises the explained class's score",
        tickvals=[0, 0.25, 0.5, 0.75, 1],
        ticktext=["0 (none)", "0.25", "0.5", "0.75", "1 (strongest)"],
        range=[-0.01, 1.01],
    )
    fig.update_yaxes(visible=False)
    fig.update_layout(height=100, margin=dict(l=40, r=40, t=5, b=50), hovermode=False)
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
        xaxis_tick0=1,
        xaxis_dtick=max(1, round(len(history["epochs"]) / 10)),  # whole epochs, about ten ticks
        yaxis_title=metric,
        yaxis_tickformat=".0%" if metric == "accuracy" else None,
        legend=dict(orientation="h", y=-0.25),
    )
    return fig


def probability_bars(probabilities: dict[str, np.ndarray], titles: dict[str, str]) -> go.Figure:
    """Each model's four class probabilities as horizontal bars, in the model's colour, each
    labelled at its end."""
    fig = go.Figure()
    for name, probs in probabilities.items():
        fig.add_bar(
            y=CLASS_AXIS,
            x=probs,
            orientation="h",
            name=titles[name],
            marker_color=registry.get(name).color,
            text=[f"{p:.1%}" for p in probs],
            textposition="outside",
            textfont=dict(size=12),
            cliponaxis=False,
        )
    fig.update_layout(
        barmode="group",
        height=140 + 22 * len(CLASS_AXIS) * len(probabilities),
        margin=dict(t=10, b=10, l=10, r=50),
        xaxis=dict(range=[0, 1], tickformat=".0%", dtick=0.2),
        yaxis=dict(categoryorder="array", categoryarray=CLASS_AXIS[::-1]),
        legend=dict(orientation="h", y=-0.12),
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
            cliponaxis=False,  # the fullest bins sit at 100%: draw their markers whole
            customdata=counts,
            hovertemplate="confidence %{x:.1%}<br>accuracy %{y:.1%}<br>%{customdata} images"
            "<extra>%{fullData.name}</extra>",
        )
    fig.update_layout(
        height=380,
        margin=dict(t=10, b=10),
        xaxis=dict(title="confidence (top class)", tickformat=".0%", range=[0, 1.05], dtick=0.2),
        yaxis=dict(title="accuracy", tickformat=".0%", range=[0, 1.05], dtick=0.2),
        legend=dict(orientation="h", y=-0.22),
    )
    return fig


def whiskers(table: pd.DataFrame) -> dict:
    """Error bars in points from a table's difference, low and high columns (shares)."""
    return dict(
        type="data",
        symmetric=False,
        array=(table["high"] - table["difference"]) * 100,
        arrayminus=(table["difference"] - table["low"]) * 100,
    )


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
        error_x=whiskers(shown),
        text=[f"{d * 100:+.1f}" for d in shown["difference"]],
        textposition="inside",  # at the bar's base: whiskers run past the end, where "outside" text sits
        insidetextanchor="start",
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
            textposition="inside",  # at the bar's base: the whisker runs past its end
            insidetextanchor="start",
            hovertemplate="%{y}: median %{x:.2f} ms<extra>%{fullData.name}</extra>",
        )
    fig.update_layout(
        barmode="group",
        height=120 + 45 * len(order),
        margin=dict(t=10, b=10),
        xaxis=dict(
            type="log", title="milliseconds (log scale; whisker: 95th percentile)", dtick=1, tickformat="~g"
        ),
        yaxis=dict(categoryorder="array", categoryarray=order[::-1]),
        legend=dict(orientation="h", y=-0.12),
    )
    return fig


def embedding_figure(points: pd.DataFrame, upload: tuple[float, float] | None = None) -> go.Figure:
    """Images on a model's 2-D feature map, one colour per group, and an upload as a star.

    Args:
        points: columns x, y, group (what the colour shows) and path (in the hover).
        upload: the upload's place on the same map, if any.
    """
    fig = go.Figure()
    palette = px.colors.qualitative.Safe
    for i, (group, part) in enumerate(points.groupby("group", sort=True)):
        fig.add_scattergl(
            x=part["x"],
            y=part["y"],
            mode="markers",
            name=f"{group} ({len(part):,})",
            marker=dict(size=4, opacity=0.6, color=palette[i % len(palette)]),
            customdata=part["path"],
            hovertemplate="%{customdata}<extra>" + str(group) + "</extra>",
        )
    if upload is not None:
        fig.add_scatter(
            x=[upload[0]],
            y=[upload[1]],
            mode="markers",
            name="your image",
            marker=dict(symbol="star", size=18, color="black", line=dict(color="white", width=1.5)),
        )
    fig.update_layout(
        height=560,
        margin=dict(t=10, b=10),
        xaxis=dict(title="first principal component of the features", zeroline=False),
        yaxis=dict(title="second", zeroline=False),
        legend=dict(orientation="h", y=-0.12),
    )
    return fig
