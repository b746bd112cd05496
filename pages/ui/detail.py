"""One test image in depth: drawn in a dialog over a gallery (gallery.open_button) or as the image
page of a deep link (pages/image.py)."""

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import streamlit as st

from core.data.dataset import CLASS_NAMES
from core.data.imagefile import ImageError
from core.report.figures import cam_colour_bar, probability_bars
from core.serving.gradcam import METHODS, overlay
from core.studies import audit, localisation
from pages.ui import loaders, widgets

if TYPE_CHECKING:  # gallery imports this module
    from pages.ui.gallery import Selection

SHOWN_SIZE = 448  # the large picture, in pixels


def steps(path: str, selection: "Selection | None", go_to: Callable[[str], None]) -> None:
    """Previous and next through the gallery the image came from, and where in it the image is."""
    if selection is None or path not in selection.paths:
        return
    position, last = selection.paths.index(path), len(selection.paths) - 1
    previous_path, next_path = selection.paths[max(position - 1, 0)], selection.paths[min(position + 1, last)]
    back, where, forward = st.columns([1, 4, 1], vertical_alignment="center")
    back.button(
        "← Previous", key="detail_previous", on_click=go_to, args=(previous_path,),
        disabled=position == 0, width="stretch",
    )  # fmt: skip
    where.markdown(f"**{position + 1}** of {len(selection.paths)}: {selection.title}")
    forward.button(
        "Next →", key="detail_next", on_click=go_to, args=(next_path,),
        disabled=position == last, width="stretch",
    )  # fmt: skip


def show(
    folder: Path, path: str, selection: "Selection | None", link: str, go_to: Callable[[str], None]
) -> None:
    """The detail view of one test image: the image, every model's answer and maps, its leakage.

    Args:
        folder: the dataset folder (sidebar.require_dataset).
        path: a test image's path, one of loaders.joined_predictions()'s.
        selection: the gallery it was opened from, stepped through with previous/next; or None.
        link: the address of this view (gallery.detail_link), to share or bookmark.
        go_to: shows another path of the selection (called by previous/next).
    """
    names, titles = loaders.model_names(), loaders.titles()
    row = loaders.joined_predictions().set_index("path").loc[path]
    steps(path, selection, go_to)
    st.subheader(f"{Path(path).stem}: {widgets.class_title(row['true_label'])}")
    st.markdown(f"[Link to this view]({link}) · `{path}`")
    try:
        images = loaders.test_inputs(folder, path)
        large = loaders.test_image(str(folder), path, SHOWN_SIZE)
    except ImageError as error:
        st.error(str(error))
        return
    box = loaders.boxes(str(folder)).get(path)
    left, right = st.columns([2, 3])
    with left:
        shown_box = box is not None and st.toggle("Show the tumour box", True, key="detail_box")
        st.image(localisation.draw_box(large, box) if shown_box else large, width="stretch")
    with right:
        facts = [f"**True class:** {widgets.class_title(row['true_label'])}"]
        if (sources := (loaders.provenance() or {}).get("test_sources")) and path in sources:
            facts.append(f"**Collection:** {sources[path]}")
        leak = loaders.audit_rows().get(path)
        if leak is not None:
            facts.append(f"**Leakage:** {audit.leak_status(leak)}")
        probabilities = widgets.shown_probabilities(images)
        facts += [widgets.served_answer(name, probabilities[name], row["true_label"]) for name in names]
        st.markdown("  \n".join(facts))
        # keyed: the Grad-CAM page under the dialog may draw the very same chart
        st.plotly_chart(probability_bars(probabilities, titles), width="stretch", key="detail_probabilities")
        if note := widgets.served_copy_note():
            st.caption(note)
        if leak is not None:
            st.markdown(f"**Nearest training image** ({widgets.class_title(leak['nearest_train_label'])})")
            try:
                st.image(
                    loaders.test_image(str(folder), leak["nearest_train"], 160), caption=leak["nearest_train"]
                )
            except ImageError as error:
                st.warning(str(error))
    maps(images, names, probabilities, CLASS_NAMES.index(row["true_label"]))


def maps(images: dict, names: list[str], probabilities: dict, true_index: int) -> None:
    """Each model's maps of its predicted class and of the true class (one map where they agree)."""
    st.subheader("Where each model looks")
    method_column, opacity_column = st.columns(2)
    method = method_column.selectbox("Method", METHODS, key="detail_method")
    opacity = opacity_column.slider("Overlay opacity", 0.0, 1.0, widgets.OPACITY, 0.05, key="detail_opacity")
    wanted = {name: list(dict.fromkeys([int(probabilities[name].argmax()), true_index])) for name in names}
    cams = widgets.heatmaps(images, [(name, index) for name in names for index in wanted[name]], method)
    for column, name in zip(st.columns(len(names)), names):
        with column:
            st.markdown(widgets.title(name))
            predicted = int(probabilities[name].argmax())
            for cell, class_index in zip(st.columns(2), wanted[name]):
                role = "predicted" if class_index == predicted else "true"
                role = "predicted = true" if class_index == predicted == true_index else role
                cell.image(overlay(images[name], cams[name, class_index], opacity), width="stretch")
                cell.caption(f"{role} class: {widgets.class_title(CLASS_NAMES[class_index])}")
    st.plotly_chart(
        cam_colour_bar(), width="stretch", config={"displayModeBar": False}, key="detail_colour_bar"
    )
    st.caption(
        "Each map shows the regions that raise that model's score for the class named under it; the "
        "predicted class's and the true class's maps differ only where the model is wrong."
    )
