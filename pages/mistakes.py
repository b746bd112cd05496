import streamlit as st

from core import wording
from core.data.dataset import CLASS_NAMES, CLASS_TITLES
from core.evaluation import compare
from core.studies import audit
from pages.ui import gallery, loaders, routing, sidebar, widgets

HARDEST_PAIR = ["glioma", "meningioma"]  # the two classes most often mistaken for each other
PER_MODEL = "Pick per model…"  # the "Which model" choice that opens a wrong/right/either control per model

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
wrong_somewhere = compare.misclassified(joined, names, true_labels, predicted_labels)
# "Any model wrong", then the buckets that split it by which models are wrong: they add up to it.
choices = {compare.verdicts_title({}, names, titles): ({}, len(wrong_somewhere))}
for bucket in compare.buckets(wrong_somewhere, names):
    verdicts = bucket.verdicts(names)
    choices[compare.verdicts_title(verdicts, names, titles)] = (verdicts, bucket.count)
choice = f3.selectbox(
    "Which model",
    [*choices, PER_MODEL],
    format_func=lambda title: f"{title} ({choices[title][1]:,})" if title in choices else title,
    key="mistakes_which",
    help="After the first, each choice is the images exactly those models get wrong: the choices "
    "add up to the first. The last picks wrong, right or either for each model.",
)
if choice == PER_MODEL:
    picks = st.columns(len(names))
    verdicts = {
        name: pick.radio(
            titles[name],
            compare.VERDICTS,
            index=compare.VERDICTS.index(compare.EITHER),
            horizontal=True,
            format_func=str.capitalize,
            key=f"mistakes_verdict_{name}",
        )
        for name, pick in zip(names, picks)
    }
else:
    verdicts = choices[choice][0]
orders = {sort.label: sort for sort in compare.sorts(names, titles)}
sort = orders[st.selectbox("Sort by", list(orders), format_func=lambda label: label[0].upper() + label[1:],
                           key="mistakes_sort")]  # fmt: skip

cases = compare.sort_cases(compare.matching(wrong_somewhere, verdicts), sort)
st.markdown(f"**{len(cases)}** images, sorted by {sort.label}.")
audited = loaders.audit_rows()
leaks = {path: audit.leak_status(audited[path]) for path in cases["path"] if path in audited}
st.download_button(
    "Download these images (CSV)",
    compare.case_export(cases, names, titles, sidebar.subset(), leaks).to_csv(index=False).encode(),
    file_name="misclassified.csv",
    mime="text/csv",
    help="Every image of this view in its order, not only this page of thumbnails: each model's "
    "answer and probabilities, the test subset and whether the image leaked from Training.",
    disabled=cases.empty,
    on_click="ignore",
)
if cases.empty:
    st.stop()

shown = wording.listed([widgets.class_title(label) for label in true_labels]) or "Any class"
view = compare.verdicts_title(verdicts, names, titles)
gallery.case_gallery(cases, f"{shown}: {view[0].lower()}{view[1:]}", key="mistakes_gallery")
with st.expander("Table"):
    widgets.case_table(cases)
