import streamlit as st

from core import wording
from core.evaluation import calibration
from core.report.figures import reliability_diagram
from pages.ui import loaders, routing, sidebar, widgets

names = routing.require_models()
subset = sidebar.subset()
st.title("Calibration")
st.markdown(sidebar.subset_caption())
st.caption(
    "Does a model that says 90% turn out right 90% of the time? Temperature scaling divides the "
    "logits by one number fitted on the validation split (never on the test set); the predicted "
    "class, and so accuracy, never changes."
)

reports = {name: loaders.calibration_report(name, subset) for name in names}
st.markdown(calibration.finding(reports, loaders.titles()))
st.dataframe(
    calibration.report_table(reports, loaders.titles()),
    hide_index=True,
    column_config=widgets.number_columns(
        {"temperature": "%.2f", "Brier score": "%.4f", "log loss": "%.4f"},
        percent=("expected calibration error", "mean confidence", "accuracy"),
    ),
)
n_validation = len(loaders.validation_predictions(names[0]))
st.caption(
    f"Rows in pairs: before (temperature 1) and after scaling. Temperatures fitted on the "
    f"{n_validation:,} validation images by minimising log loss. Expected calibration error: the "
    f"gap between confidence and accuracy over {calibration.N_BINS} equal-width confidence bins, "
    "weighted by their size. Brier score: mean squared distance between the probabilities and the "
    "true class."
)

for column, (name, report) in zip(st.columns(len(names)), reports.items()):
    with column:
        st.markdown(f"#### {widgets.title(name)}")
        curves = {"before": report.bins_before, f"after (T = {report.temperature:.2f})": report.bins_after}
        st.plotly_chart(
            reliability_diagram(curves, loaders.architecture(name).color),
            width="stretch",
            config={"displayModeBar": False},
        )
st.caption(
    "Marker size: images in the bin. Points under the diagonal are over-confident, above it "
    f"under-confident. Most images sit in the top bin, where {wording.both(len(names))} models are "
    "nearly always right."
)
