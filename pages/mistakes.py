import streamlit as st

from core import compare, wording
from core.data import CLASS_NAMES, CLASS_TITLES
from core.gradcam import METHODS
from core.imagefile import ImageError
from pages.ui import loaders, routing, sidebar, widgets

HARDEST_PAIR = ["glioma", "meningioma"]  # the two classes most often mistaken for each other

names = routing.require_models()
titles = loaders.titles()
st.title("Misclassified explorer")
st.markdown(sidebar.subset_caption())
st.caption(
    f"{' vs '.join(CLASS_TITLES[name] for name in HARDEST_PAIR).capitalize()}, the pair hardest to "
    "tell apart, is the default view."
)

joined = loaders.joined_predictions(sidebar.subset())
f1, f2, f3 = st.columns(3)
true_labels = f1.multiselect("True class", CLASS_NAMES, default=HARDEST_PAIR, format_func=widgets.class_title)
predicted_labels = f2.multiselect(
    "Predicted class", CLASS_NAMES, default=HARDEST_PAIR, format_func=widgets.class_title
)
modes = {
    "Either model wrong": ("either", None),
    f"{wording.both(len(names)).capitalize()} wrong": ("both", None),
}
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

widgets.case_gallery(cases)
with st.expander("Table"):
    st.dataframe(cases, hide_index=True)

folder = sidebar.dataset_dir()
if folder is not None:
    st.subheader("Open one")
    path = st.selectbox("Image", cases["path"].tolist())
    method = st.selectbox("Method", METHODS, key="mistake_method")
    try:
        widgets.gradcam_pair(loaders.test_inputs(folder, path), method, opacity=0.4)
    except ImageError as error:
        st.error(str(error))
