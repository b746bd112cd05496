import streamlit as st

from core import compare
from core.data import ImageError
from core.gradcam import METHODS
from pages import shared

names = shared.require_models()
st.title("Grad-CAM: where each model looks")
st.caption("Each map explains the class that model predicted. Red: regions that raise its score.")

left, middle, right = st.columns([2, 1, 1])
source = left.segmented_control("Image", ["Test set", "Upload"], default="Test set", required=True)
method = middle.selectbox("Method", METHODS)
opacity = right.slider("Overlay opacity", 0.0, 1.0, 0.4, 0.05)

images = None
try:
    if source == "Upload":
        upload = st.file_uploader("An MRI slice", type=shared.IMAGE_TYPES)
        if upload is not None:
            images = shared.upload_inputs(upload.getvalue(), upload.name)
            shared.warn_if_foreign(shared.foreign_warnings(images))
    elif (folder := shared.require_dataset()) is not None:
        st.caption(shared.subset_caption())
        joined = shared.joined_predictions(shared.subset())
        groups = compare.image_groups(joined, names)
        group = st.selectbox("Choose from", list(groups))
        if not groups[group]:
            st.info("No test images match.")
        else:
            path = st.selectbox(f"Test image ({len(groups[group])})", groups[group])
            true_label = joined.set_index("path").loc[path, "true_label"]
            st.markdown(f"True class: **{shared.class_title(true_label)}**")
            images = shared.test_inputs(folder, path)
except ImageError as error:
    st.error(str(error))

if images:
    shared.gradcam_pair(images, method, opacity)
