import streamlit as st

from core import compare
from core.figures import MODEL_COLORS, confusion_figure
from pages import shared

names = shared.require_models()
st.title("Confusion matrices")
st.caption("Rows: true class. Columns: predicted class. Click a cell to see its images.")

normalize = (
    st.segmented_control("Show", ["Counts", "Row %"], default="Counts", key="cm_mode", required=True)
    == "Row %"
)

clicked = None
for column, name in zip(st.columns(len(names)), names):
    with column:
        st.markdown(f"#### {shared.title(name)}")
        event = st.plotly_chart(
            confusion_figure(shared.metrics(name)["confusion_matrix"], normalize, MODEL_COLORS[name]),
            on_select="rerun",
            selection_mode="points",
            key=f"cm_{name}",
            config={"displayModeBar": False},
        )
        points = event.selection.points if event and event.selection else []
        if points:
            true_label, predicted_label = points[0]["customdata"][:2]
            clicked = (name, true_label, predicted_label)

if clicked is None:
    st.info("Click a cell of either matrix to open the images behind it.")
    st.stop()

name, true_label, predicted_label = clicked
cases = compare.cell_cases(shared.joined_predictions(), name, true_label, predicted_label)
st.subheader(
    f"{shared.titles()[name]}: true {shared.class_title(true_label)} → "
    f"predicted {shared.class_title(predicted_label)} ({len(cases)} images)"
)
shared.case_gallery(cases)
with st.expander("Table of these images"):
    st.dataframe(cases, hide_index=True)
