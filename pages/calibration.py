import streamlit as st

from core.figures import MODEL_COLORS, reliability_diagram
from pages import shared

names = shared.require_models()
subset = shared.subset()
st.title("Calibration")
st.markdown(shared.subset_caption())
st.caption(
    "Does a model that says 90% turn out right 90% of the time? Temperature scaling divides the "
    "logits by one number fitted on the validation split (never on the test set); the predicted "
    "class, and so accuracy, never changes."
)

reports = {name: shared.calibration_report(name, subset) for name in names}
rows = []
for name, report in reports.items():
    for when in ("before", "after"):
        scores = report[when]
        rows.append(
            {
                "model": shared.titles()[name],
                "temperature": 1.0 if when == "before" else report["temperature"],
                "expected calibration error": scores["ece"],
                "Brier score": scores["brier"],
                "log loss": scores["nll"],
                "mean confidence": scores["mean_confidence"],
                "accuracy": scores["accuracy"],
            }
        )
st.dataframe(
    rows,
    hide_index=True,
    column_config={
        "temperature": st.column_config.NumberColumn(format="%.2f"),
        "expected calibration error": st.column_config.NumberColumn(format="percent"),
        "Brier score": st.column_config.NumberColumn(format="%.4f"),
        "log loss": st.column_config.NumberColumn(format="%.4f"),
        "mean confidence": st.column_config.NumberColumn(format="percent"),
        "accuracy": st.column_config.NumberColumn(format="percent"),
    },
)
n_validation = len(shared.validation_predictions(names[0]))
st.caption(
    f"Rows in pairs: before (temperature 1) and after scaling. Temperatures fitted on the "
    f"{n_validation:,} validation images by minimising log loss. Expected calibration error: the "
    "gap between confidence and accuracy over 15 equal-width confidence bins, weighted by their "
    "size. Brier score: mean squared distance between the probabilities and the true class."
)

for column, (name, report) in zip(st.columns(len(names)), reports.items()):
    with column:
        st.markdown(f"#### {shared.title(name)}")
        curves = {
            "before": report["bins"]["before"],
            f"after (T = {report['temperature']:.2f})": report["bins"]["after"],
        }
        st.plotly_chart(
            reliability_diagram(curves, MODEL_COLORS[name]), width="stretch", config={"displayModeBar": False}
        )
st.caption(
    "Marker size: images in the bin. Points under the diagonal are over-confident, above it "
    "under-confident. Most images sit in the top bin, where both models are nearly always right."
)
