import numpy as np
import streamlit as st

from core import wording
from core.data.dataset import CLASS_NAMES
from core.evaluation import curves
from core.report.curve_figures import coverage_curve, precision_recall_curves, roc_curves
from pages.ui import loaders, routing, sidebar, widgets

names = routing.require_models()
subset = sidebar.subset()
st.title("ROC and operating points")
st.markdown(sidebar.subset_caption())
st.caption(
    "Each class against the other three: how well a model's probability for it separates its images "
    "from the rest at every threshold, and what one threshold gives. Every rate comes with the "
    "images it is counted on."
)
CALIBRATED, RAW = "Calibrated", "Raw"
probabilities = st.segmented_control(
    "Probabilities", [CALIBRATED, RAW], default=CALIBRATED, required=True, key="curves_probabilities"
)
st.caption(
    "Calibrated: each model's probabilities divided by its temperature, fitted on the validation "
    f"split as on the Calibration page ({widgets.temperatures(names)}), so that a model saying 90% "
    "is right about 90% of the time; Live prediction scales its answers the same way. Raw: the "
    "models' own; one with a temperature below 1 is under-confident, so its answer can have a "
    "probability under 0.5, which a threshold of 0.5 does not call. Scaling keeps every answer and "
    "barely moves the ROC AUCs, but it moves what a threshold on a class's probability calls."
)

titles = loaders.titles()
colors = {titles[name]: loaders.architecture(name).color for name in names}
load = loaders.calibrated_predictions if probabilities == CALIBRATED else loaders.subset_predictions
tables = {name: load(name, subset) for name in names}
try:
    by_class = {name: curves.per_class_curves(table) for name, table in tables.items()}
except ValueError as error:  # a class with no image in these test images
    st.error(str(error))
    st.stop()
by_title = {titles[name]: by_class[name] for name in names}

corner = st.toggle(
    "Zoom on the corner",
    key="curves_corner",
    help="Curves this close to a perfect classifier differ only in the corner: false positive rate "
    "up to 20% and true positive rate from 80%; recall and precision from 80%.",
)
st.subheader("ROC curves per class")
st.plotly_chart(roc_curves(by_title, colors, corner=corner), width="stretch")
st.subheader("Precision-recall curves per class")
st.plotly_chart(precision_recall_curves(by_title, colors, corner=corner), width="stretch")
st.dataframe(
    curves.auc_table(by_class, titles),
    hide_index=True,
    column_config=widgets.number_columns({"ROC AUC": "%.4f", "average precision": "%.4f"}),
)
macro_auc = {name: np.mean([c.roc_auc for c in by_class[name].values()]) for name in names}
macro = {widgets.short_name(name): f"{auc:.4f}" for name, auc in macro_auc.items()}
st.caption(
    "Positives: the class's test images; negatives: the others. Macro ROC AUC, the mean over the "
    f"{len(CLASS_NAMES)} classes: {wording.per_model(macro)}. Average precision is the area under "
    "the precision-recall steps; the dashed line is the share of positives, what calling every "
    "image positive would give."
)

st.subheader("Operating point")
REFER, THRESHOLD = "Refer when confidence < t", "Threshold on a class's probability"
mode = st.radio("Rule", [REFER, THRESHOLD], horizontal=True, key="curves_mode")
if mode == REFER:
    threshold = st.slider(
        "t: answer when the top class's probability is at least t, else refer to a person",
        0.0, 1.0, 0.9, 0.01, key="referral_threshold",
    )  # fmt: skip
    chosen = {name: curves.referral(table, threshold) for name, table in tables.items()}
    st.dataframe(curves.referral_table(chosen, titles), hide_index=True)
    st.caption(
        "Coverage: the images a model answers. Accuracy on those. Errors referred: the wrong top-class "
        "answers, of all of them, that the rule sends to a person instead."
    )
    st.plotly_chart(
        coverage_curve(
            {titles[name]: curves.referral_curve(table) for name, table in tables.items()},
            colors,
            {titles[name]: point for name, point in chosen.items()},
        ),
        width="stretch",
    )
else:
    positive = st.selectbox(
        "Positive class",
        curves.POSITIVES,
        format_func=curves.POSITIVE_TITLES.get,
        key="curves_positive",
        help="Tumour (any class): glioma, meningioma and pituitary together against no tumour.",
    )
    threshold = st.slider("t", 0.0, 1.0, 0.5, 0.01, key="class_threshold")
    st.markdown(f"Call {curves.rule(positive, threshold)}.")
    points = {name: curves.operating_point(table, positive, threshold) for name, table in tables.items()}
    st.dataframe(curves.operating_table(points, titles), hide_index=True)
    st.caption(
        "Sensitivity: the positives called positive. Specificity: the negatives called negative. "
        "Precision: the calls that are right. Missed and false alarms are image counts."
    )
    task = {titles[name]: {positive: curves.class_curves(table, positive)} for name, table in tables.items()}
    st.plotly_chart(
        roc_curves(
            task,
            colors,
            marks={titles[name]: point for name, point in points.items()},
            corner=corner,
        ),
        width="stretch",
    )
