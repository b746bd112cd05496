import streamlit as st

from core.data import CLASS_NAMES, ImageError, decode_image
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
if source == "Upload":
    upload = st.file_uploader("An MRI slice", type=["jpg", "jpeg", "png", "bmp"])
    if upload is not None:
        try:
            images = {
                n: decode_image(upload.getvalue(), shared.predictor(n).config.image_size, upload.name)
                for n in names
            }
        except ImageError as error:
            st.error(str(error))
else:
    folder = shared.require_dataset()
    if folder is not None:
        joined = shared.joined_predictions()
        choices = {f"True class: {shared.class_title(c)}": joined["true_label"] == c for c in CLASS_NAMES}
        choices["Misclassified by either model"] = ~joined[[f"{n}_correct" for n in names]].all(axis=1)
        choices["The models disagree"] = ~joined["agree"]
        subset = st.selectbox("Choose from", list(choices))
        paths = joined.loc[choices[subset], "path"].tolist()
        if not paths:
            st.info("No test images match.")
        else:
            path = st.selectbox(f"Test image ({len(paths)})", paths)
            try:
                images = {
                    n: shared.test_image(str(folder), path, shared.predictor(n).config.image_size)
                    for n in names
                }
            except ImageError as error:
                st.error(str(error))
            true_label = joined.set_index("path").loc[path, "true_label"]
            st.markdown(f"True class: **{shared.class_title(true_label)}**")

if images:
    shared.gradcam_pair(images, method, opacity)
