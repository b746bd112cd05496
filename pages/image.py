"""One test image in depth, by its link (image?path=...&sel=...); the galleries open the same view
in a dialog over themselves (gallery.open_button)."""

import streamlit as st

from pages.ui import detail, gallery, loaders, routing, sidebar

routing.require_models()
st.title("Image detail")
path, key = st.query_params.get("path"), st.query_params.get("sel")
if (folder := sidebar.require_dataset()) is None:
    st.stop()
if path not in set(loaders.joined_predictions()["path"]):
    st.info(
        "Open a test image from a gallery: click a thumbnail's name on *Confusion matrices*, "
        "*Misclassified explorer*, *Grad-CAM* or *Leakage audit*."
        + (f" `{path}` is not one of the test images." if path else "")
    )
    st.stop()


def go_to(other: str) -> None:
    st.query_params["path"] = other


detail.show(folder, path, gallery.recall(key), gallery.detail_link(path, key), go_to)
