"""One test image in depth: opened from any gallery's thumbnail, or by its link (image?path=...)."""

from pathlib import Path

import streamlit as st

from core.data.dataset import CLASS_NAMES
from core.data.imagefile import ImageError
from core.report.figures import cam_colour_bar, probability_bars
from core.serving.gradcam import METHODS, overlay
from core.studies import audit, localisation
from pages.ui import gallery, loaders, routing, sidebar, widgets

SHOWN_SIZE = 448  # the large picture, in pixels

names = routing.require_models()
titles = loaders.titles()
st.title("Image detail")
path, key = st.query_params.get("path"), st.query_params.get("sel")
if (folder := sidebar.require_dataset()) is None:
    st.stop()
joined = loaders.joined_predictions().set_index("path")
if path not in joined.index:
    st.info(
        "Open a test image from a gallery: click a thumbnail on *Confusion matrices*, *Misclassified "
        "explorer*, *Grad-CAM* or *Leakage audit*."
        + (f" `{path}` is not one of the test images." if path else "")
    )
    st.stop()
row = joined.loc[path]

selection = gallery.recall(key)
if selection is not None and path in selection.paths:
    position, last = selection.paths.index(path), len(selection.paths) - 1

    def go_to(other: str) -> None:
        st.query_params["path"] = other

    back, where, forward = st.columns([1, 4, 1], vertical_alignment="center")
    previous_path, next_path = selection.paths[max(position - 1, 0)], selection.paths[min(position + 1, last)]
    back.button("← Previous", on_click=go_to, args=(previous_path,), disabled=position == 0, width="stretch")
    where.markdown(f"**{position + 1}** of {len(selection.paths)}: {selection.title}")
    forward.button("Next →", on_click=go_to, args=(next_path,), disabled=position == last, width="stretch")

st.subheader(f"{Path(path).stem}: {widgets.class_title(row['true_label'])}")
st.markdown(f"[Link to this view]({gallery.detail_link(path, key)}) · `{path}`")

try:
    images = loaders.test_inputs(folder, path)
    large = loaders.test_image(str(folder), path, SHOWN_SIZE)
except ImageError as error:
    st.error(str(error))
    st.stop()
box = loaders.boxes(str(folder)).get(path)
left, right = st.columns([2, 3])
with left:
    shown_box = box is not None and st.toggle("Show the tumour box", True)
    st.image(localisation.draw_box(large, box) if shown_box else large, width="stretch")
with right:
    facts = [f"**True class:** {widgets.class_title(row['true_label'])}"]
    if (sources := (loaders.provenance() or {}).get("test_sources")) and path in sources:
        facts.append(f"**Collection:** {sources[path]}")
    leak = loaders.audit_rows().get(path)
    if leak is not None:
        facts.append(f"**Leakage:** {audit.leak_status(leak)}")
    facts += [widgets.answer(row, name) for name in names]
    st.markdown("  \n".join(facts))
    probabilities = {
        name: loaders.predictor(name).probabilities(image[None])[0] for name, image in images.items()
    }
    widgets.probability_chart(probability_bars(probabilities, titles), refused=None)
    if leak is not None:
        st.markdown(f"**Nearest training image** ({widgets.class_title(leak['nearest_train_label'])})")
        try:
            st.image(
                loaders.test_image(str(folder), leak["nearest_train"], 160), caption=leak["nearest_train"]
            )
        except ImageError as error:
            st.warning(str(error))

st.subheader("Where each model looks")
method_column, opacity_column = st.columns(2)
method = method_column.selectbox("Method", METHODS, key="detail_method")
opacity = opacity_column.slider("Overlay opacity", 0.0, 1.0, widgets.OPACITY, 0.05, key="detail_opacity")
true_index = CLASS_NAMES.index(row["true_label"])
wanted = {name: list(dict.fromkeys([int(probabilities[name].argmax()), true_index])) for name in names}
maps = widgets.heatmaps(images, [(name, index) for name in names for index in wanted[name]], method)
for column, name in zip(st.columns(len(names)), names):
    with column:
        st.markdown(widgets.title(name))
        predicted = int(probabilities[name].argmax())
        for cell, class_index in zip(st.columns(2), wanted[name]):  # one map where the answer is right
            role = "predicted" if class_index == predicted else "true"
            role = "predicted = true" if class_index == predicted == true_index else role
            cell.image(overlay(images[name], maps[name, class_index], opacity), width="stretch")
            cell.caption(f"{role} class: {widgets.class_title(CLASS_NAMES[class_index])}")
st.plotly_chart(cam_colour_bar(), width="stretch", config={"displayModeBar": False}, key="detail_colour_bar")
st.caption(
    "Each map shows the regions that raise that model's score for the class named under it; the "
    "predicted class's and the true class's maps differ only where the model is wrong."
)
