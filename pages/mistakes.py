import streamlit as st

from core import compare
from core.data import CLASS_NAMES, ImageError
from core.gradcam import METHODS
from pages import shared

names = shared.require_models()
titles = shared.titles()
st.title("Misclassified explorer")
st.markdown(shared.subset_caption())
st.caption("Glioma vs meningioma, the pair hardest to tell apart, is the default view.")

joined = shared.joined_predictions(shared.subset())
f1, f2, f3 = st.columns(3)
true_labels = f1.multiselect(
    "True class", CLASS_NAMES, default=["glioma", "meningioma"], format_func=shared.class_title
)
predicted_labels = f2.multiselect(
    "Predicted class", CLASS_NAMES, default=["glioma", "meningioma"], format_func=shared.class_title
)
modes = {"Either model wrong": ("either", None), "Both wrong": ("both", None)}
modes |= {f"Only {titles[n]} wrong": ("only", n) for n in names}
mode, only = modes[f3.selectbox("Which model", list(modes))]

cases = compare.misclassified(joined, names, true_labels, predicted_labels, mode, only)
st.markdown(f"**{len(cases)}** images, sorted by the confidence of the wrong answer.")
st.download_button(
    "Download table (CSV)",
    cases.to_csv(index=False).encode(),
    file_name="misclassified.csv",
    mime="text/csv",
    disabled=cases.empty,
    on_click="ignore",
)
if cases.empty:
    st.stop()

shared.case_gallery(cases)
with st.expander("Table"):
    st.dataframe(cases, hide_index=True)

folder = shared.dataset_dir()
if folder is not None:
    st.subheader("Open one")
    path = st.selectbox("Image", cases["path"].tolist())
    method = st.selectbox("Method", METHODS, key="mistake_method")
    try:
        shared.gradcam_pair(shared.test_inputs(folder, path), method, opacity=0.4)
    except ImageError as error:
        st.error(str(error))
