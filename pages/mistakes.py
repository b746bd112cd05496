import streamlit as st

from core import wording
from core.data.dataset import CLASS_NAMES, CLASS_TITLES
from core.evaluation import compare
from pages.ui import gallery, loaders, routing, sidebar, widgets

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
    f"{wording.either(len(names)).capitalize()} wrong": ("either", None),
    f"{wording.both(len(names)).capitalize()} wrong": ("both", None),
}
modes |= {f"Only {titles[n]} wrong": ("only", n) for n in names}
mode_name = f3.selectbox("Which model", list(modes))
mode, only = modes[mode_name]

cases = compare.misclassified(joined, names, true_labels, predicted_labels, mode, only)
st.markdown(f"**{len(cases)}** images, sorted by the confidence of the wrong answer.")
st.download_button(
    "Download table (CSV)",
    compare.case_table(cases, names, titles).to_csv(index=False).encode(),
    file_name="misclassified.csv",
    mime="text/csv",
    disabled=cases.empty,
    on_click="ignore",
)
if cases.empty:
    st.stop()

shown = wording.listed([widgets.class_title(label) for label in true_labels]) or "Any class"
gallery.case_gallery(cases, f"{shown}: {mode_name.lower()}", key="mistakes_gallery")
with st.expander("Table"):
    widgets.case_table(cases)
