import streamlit as st

from core import compare
from core.gradcam import METHODS
from core.imagefile import UPLOAD_SUFFIXES, ImageError
from pages.ui import loaders, routing, sidebar, widgets

names = routing.require_models()
st.title("Grad-CAM: where each model looks")
st.caption("Each map explains the class that model predicted. Red: regions that raise its score.")

left, middle, right = st.columns([2, 1, 1])
source = left.segmented_control("Image", ["Test set", "Upload"], default="Test set", required=True)
method = middle.selectbox("Method", METHODS)
opacity = right.slider("Overlay opacity", 0.0, 1.0, 0.4, 0.05)

images = None
try:
    if source == "Upload":
        upload = st.file_uploader("An MRI slice", type=sorted(UPLOAD_SUFFIXES))
        if upload is not None:
            uploads = loaders.upload_inputs(upload.getvalue(), upload.name)
            widgets.warn_if_foreign(loaders.foreign_warnings(uploads))
            images = {name: decoded.pixels for name, decoded in uploads.items()}
    elif (folder := sidebar.require_dataset()) is not None:
        st.caption(sidebar.subset_caption())
        joined = loaders.joined_predictions(sidebar.subset())
        groups = compare.image_groups(joined, names)
        group = st.selectbox("Choose from", list(groups))
        if not groups[group]:
            st.info("No test images match.")
        else:
            path = st.selectbox(f"Test image ({len(groups[group])})", groups[group])
            true_label = joined.set_index("path").loc[path, "true_label"]
            st.markdown(f"True class: **{widgets.class_title(true_label)}**")
            images = loaders.test_inputs(folder, path)
except ImageError as error:
    st.error(str(error))

if images:
    widgets.gradcam_pair(images, method, opacity)
