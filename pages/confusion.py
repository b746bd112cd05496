import streamlit as st

from core.data.dataset import CLASS_NAMES
from core.evaluation import compare
from core.report.figures import confusion_difference_figure, confusion_figure
from pages.ui import gallery, loaders, routing, sidebar, widgets

CELL_KEY = "cm_cell"  # the chosen cell: (model, true class, predicted class), or None

names = routing.require_models()
subset = sidebar.subset()
titles = loaders.titles()
st.title("Confusion matrices")
st.markdown(sidebar.subset_caption())
st.caption(
    "Rows: true class. Columns: predicted class. Right answers in each model's colour, mistakes in "
    "red, by their share of the row. Click a cell, or pick it in the list below, to see its images."
)

normalize = (
    st.segmented_control("Show", ["Counts", "Row %"], default="Counts", key="cm_mode", required=True)
    == "Row %"
)
matrices = {name: loaders.subset_metrics(name, subset).confusion_matrix for name in names}


def chart_key(name: str) -> str:
    """A matrix's widget key: a new one clears its selection when another matrix is clicked."""
    return f"cm_{name}_{st.session_state.get(f'cm_{name}_round', 0)}"


def remember_click(name: str) -> None:
    """Keep the latest click of any matrix and clear the others' selections."""
    points = st.session_state[chart_key(name)].selection.points
    if not points:
        return
    st.session_state[CELL_KEY] = (name, *points[0]["customdata"][:2])
    for other in names:
        if other != name:
            st.session_state[f"cm_{other}_round"] = st.session_state.get(f"cm_{other}_round", 0) + 1


chosen = st.session_state.get(CELL_KEY)
for column, name in zip(st.columns(len(names)), names):
    with column:
        st.markdown(f"#### {widgets.title(name)}")
        st.plotly_chart(
            confusion_figure(
                matrices[name],
                normalize,
                loaders.architecture(name).color,
                selected=tuple(chosen[1:]) if chosen and chosen[0] == name else None,
            ),
            on_select=lambda name=name: remember_click(name),
            selection_mode="points",
            key=chart_key(name),
            config={"displayModeBar": False},
        )

cells = [(name, true, predicted) for name in names for true in CLASS_NAMES for predicted in CLASS_NAMES]
st.selectbox(
    "Cell",
    cells,
    index=None,
    key=CELL_KEY,
    placeholder="Choose a cell (or click one above)",
    format_func=lambda cell: (
        f"{titles[cell[0]]}: true {widgets.class_title(cell[1])} → predicted {widgets.class_title(cell[2])} "
        f"({matrices[cell[0]][CLASS_NAMES.index(cell[1])][CLASS_NAMES.index(cell[2])]} images)"
    ),
)

if len(names) >= 2:
    a, b = names[:2]
    with st.expander(f"Difference: {titles[a]} minus {titles[b]}"):
        st.caption(
            f"Images in each cell, {titles[a]}'s count minus {titles[b]}'s, on the same test images. "
            "Each cell is shaded in the colour of the model that does better there: more images on "
            "the diagonal, fewer off it."
        )
        colors = (loaders.architecture(a).color, loaders.architecture(b).color)
        st.plotly_chart(
            confusion_difference_figure(matrices[a], matrices[b], colors, (titles[a], titles[b])),
            config={"displayModeBar": False},
            key="cm_difference",
        )

chosen = st.session_state.get(CELL_KEY)
if chosen is None:
    st.info("Click a cell of either matrix, or choose one in the list, to open the images behind it.")
    st.stop()

name, true_label, predicted_label = chosen
cases = compare.cell_cases(loaders.joined_predictions(subset), name, true_label, predicted_label)
heading = (
    f"{titles[name]}: true {widgets.class_title(true_label)} → predicted "
    f"{widgets.class_title(predicted_label)}"
)
st.subheader(f"{heading} ({len(cases)} images)")
gallery.case_gallery(cases, heading, key="cm_gallery")
with st.expander("Table of these images"):
    widgets.case_table(cases)
