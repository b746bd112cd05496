import streamlit as st

from core import compare
from core.figures import confusion_figure
from pages.ui import loaders, routing, sidebar, widgets

names = routing.require_models()
subset = sidebar.subset()
st.title("Confusion matrices")
st.markdown(sidebar.subset_caption())
st.caption("Rows: true class. Columns: predicted class. Click a cell to see its images.")

normalize = (
    st.segmented_control("Show", ["Counts", "Row %"], default="Counts", key="cm_mode", required=True)
    == "Row %"
)


def remember_click(name: str) -> None:
    """Keep the latest click of any matrix: (model, true class, predicted class)."""
    points = st.session_state[f"cm_{name}"].selection.points
    st.session_state["cm_clicked"] = (name, *points[0]["customdata"][:2]) if points else None


for column, name in zip(st.columns(len(names)), names):
    with column:
        st.markdown(f"#### {widgets.title(name)}")
        st.plotly_chart(
            confusion_figure(
                loaders.subset_metrics(name, subset)["confusion_matrix"],
                normalize,
                loaders.architecture(name).color,
            ),
            on_select=lambda name=name: remember_click(name),
            selection_mode="points",
            key=f"cm_{name}",
            config={"displayModeBar": False},
        )

clicked = st.session_state.get("cm_clicked")
if clicked is None:
    st.info("Click a cell of either matrix to open the images behind it.")
    st.stop()

name, true_label, predicted_label = clicked
cases = compare.cell_cases(loaders.joined_predictions(subset), name, true_label, predicted_label)
st.subheader(
    f"{loaders.titles()[name]}: true {widgets.class_title(true_label)} → "
    f"predicted {widgets.class_title(predicted_label)} ({len(cases)} images)"
)
widgets.case_gallery(cases)
with st.expander("Table of these images"):
    st.dataframe(cases, hide_index=True)
