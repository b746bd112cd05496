import numpy as np
import pytest

from core.evaluation.calibration import ReliabilityBins
from core.models import registry
from core.report import figures

MATRIX = [[8, 2, 0, 0], [1, 9, 0, 0], [0, 0, 10, 0], [0, 1, 0, 9]]


def fills(fig) -> list[str]:
    """Each cell's colour, row by row: the rectangles under the clickable points."""
    return [shape.fillcolor for shape in fig.layout.shapes if shape.fillcolor]


def test_confusion_figure_is_a_clickable_point_on_each_cell():
    fig = figures.confusion_figure(MATRIX, normalize=False, color="#2563eb")
    (trace,) = fig.data
    assert trace.type == "scatter" and len(fills(fig)) == 16
    assert len(trace.x) == 16 and list(trace.text[:2]) == ["8", "2"]
    first = trace.customdata[1]  # true glioma, predicted meningioma
    assert list(first[:3]) == ["glioma", "meningioma", "2"] and float(first[3]) == pytest.approx(20.0)
    assert (trace.x[1], trace.y[1]) == ("Meningioma", "Glioma")


def test_row_normalised_confusion_shows_percentages():
    trace = figures.confusion_figure(MATRIX, normalize=True, color="#ea580c").data[0]
    assert list(trace.text[:4]) == ["80%", "20%", "0%", "0%"]


def test_mistakes_are_red_right_answers_in_the_models_colour_and_a_selection_fades_nothing():
    selected = ("glioma", "meningioma")
    fig = figures.confusion_figure(MATRIX, normalize=False, color="#2563eb", selected=selected)
    colors = fills(fig)
    assert colors[0] != colors[5]  # 80% vs 90% right: shades of one colour
    assert colors[1] == figures.shade(0.8, figures.ERROR_COLOR)  # 20% wrong (red at 25%)
    assert colors[2] == figures.shade(0.0, figures.ERROR_COLOR)  # no image
    assert fig.data[0].unselected.marker.opacity == 1
    outline = fig.layout.shapes[-1]  # around column 1 (meningioma), row 0 from the top (y 3 of 0-3)
    assert outline.line.color == figures.SELECTED_OUTLINE and not outline.fillcolor
    assert (outline.x0, outline.x1, outline.y0, outline.y1) == (0.5, 1.5, 2.5, 3.5)


def test_difference_matrix_shades_each_cell_for_the_model_that_does_better_there():
    other = [[9, 1, 0, 0], [1, 9, 0, 0], [0, 0, 10, 0], [0, 3, 0, 7]]
    fig = figures.confusion_difference_figure(MATRIX, other, ("#0000ff", "#ff0000"), ("A", "B"))
    (trace,), colors = fig.data, fills(fig)
    assert list(trace.text[:2]) == ["-1", "+1"]  # A: one glioma fewer right, one more wrong
    assert colors[0] == colors[1] == figures.shade(1 / 2, "#ff0000")  # B better by 1 of at most 2
    assert colors[13] == figures.shade(1.0, "#0000ff")  # pituitary as meningioma: A 1, B 3
    assert trace.text[5] == "0" and colors[5] == figures.shade(0.0, "#ff0000")  # no difference: grey


def test_per_class_bars_group_models_and_facet_metrics():
    import pandas as pd

    table = pd.DataFrame(
        [{"model": m, "class": c, "metric": k, "value": 0.9}
         for m in ("A", "B") for c in ("glioma", "notumor") for k in ("precision", "recall", "f1")]
    )  # fmt: skip
    fig = figures.per_class_bars(table, {"A": "#111111", "B": "#222222"})
    assert {trace.name for trace in fig.data} == {"A", "B"}
    assert len(fig.data) == 6  # 2 models x 3 metric panels
    assert {trace.marker.color for trace in fig.data} == {"#111111", "#222222"}


def test_training_curves_mark_phases_lr_cuts_and_best_epoch():
    history = {
        "epochs": [
            {
                "epoch": e,
                "phase": p,
                "learning_rate": lr,
                "accuracy": 0.5 + e / 20,
                "val_accuracy": 0.5 + e / 25,
                "loss": 1 / e,
                "val_loss": 1.2 / e,
            }
            for e, p, lr in [
                (1, "head", 1e-3),
                (2, "head", 1e-3),
                (3, "fine-tune", 2e-5),
                (4, "fine-tune", 6e-6),
                (5, "fine-tune", 6e-6),
            ]
        ],  # fmt: skip
        "phases": [
            {"name": "head", "first_epoch": 1, "last_epoch": 2, "best_epoch": 2},
            {"name": "fine-tune", "first_epoch": 3, "last_epoch": 5, "best_epoch": 4},
        ],
    }
    fig = figures.training_curves(history, "accuracy", "#2563eb")
    names = [trace.name for trace in fig.data]
    assert names == ["train", "validation", "learning rate cut", "best epoch (kept)"]
    assert list(fig.data[2].x) == [4]  # the cut inside fine-tuning, not the phase change
    assert list(fig.data[3].x) == [4]
    assert fig.layout.shapes[0].x0 == 2.5  # the phase boundary


def test_probability_bars_one_trace_per_model_in_its_colour():
    fig = figures.probability_bars(
        {"mobilenetv2": np.array([0.7, 0.1, 0.1, 0.1]), "custom_cnn": np.array([0.1, 0.6, 0.2, 0.1])},
        {"mobilenetv2": "MobileNetV2", "custom_cnn": "CNN"},
    )
    assert [t.name for t in fig.data] == ["MobileNetV2", "CNN"]
    assert [t.marker.color for t in fig.data] == [
        registry.get("mobilenetv2").color,
        registry.get("custom_cnn").color,
    ]
    assert list(fig.data[0].text) == ["70.0%", "10.0%", "10.0%", "10.0%"]


def test_reliability_diagram_draws_the_diagonal_and_one_line_per_curve():
    bins = ReliabilityBins(
        confidence=[0.55, 0.95], accuracy=[0.5, 0.9], count=[10, 90], low=[0.5, 0.9], high=[0.6, 1.0]
    )
    fig = figures.reliability_diagram({"before": bins, "after": bins}, "#2563eb")
    diagonal, before, after = fig.data
    assert list(diagonal.x) == [0, 1] and list(diagonal.y) == [0, 1]
    assert (before.name, before.line.dash) == ("before", "dot") and after.line.dash == "solid"
    assert list(after.customdata) == [10, 90]


def test_difference_bars_show_intervals_in_points():
    import pandas as pd

    per_class = pd.DataFrame(
        {
            "class": ["glioma", "notumor"],
            "difference": [0.05, -0.02],
            "low": [0.01, -0.05],
            "high": [0.09, 0.01],
        }
    )
    (bars,) = figures.difference_bars(per_class, "recall", "#2563eb").data
    assert list(bars.y) == ["Glioma", "No tumor"] and list(bars.x) == pytest.approx([5, -2])
    assert list(bars.error_x.array) == pytest.approx([4, 3]) and list(
        bars.error_x.arrayminus
    ) == pytest.approx([4, 3])
    assert list(bars.text) == ["+5.0", "-2.0"]
