import streamlit as st

from core.artifacts import CURRENT_RECIPE
from core.report import figures, generalisation
from core.report.model_card import recipe_sentence
from pages.ui import loaders, model_card, routing, sidebar
from pages.ui.folder_eval import folder_section

names = routing.require_models()
compared = [name for name in names if not loaders.architecture(name).control]
titles = {name: loaders.architecture(name).short_name for name in names}  # tables with two columns a model
st.title("Generalisation")
st.caption(
    "Test accuracy says how a model does on more images from the collections it learned from. "
    "This page asks what happens on a collection it has not seen: the Kaggle dataset merges "
    "three, and a model can learn which collection a slice comes from instead of the tumour."
)

st.subheader("Where the images come from")
provenance = loaders.provenance()
if provenance is None:
    st.info("No source table in artifacts/. Write it with `python -m core sources` (needs the dataset).")
else:
    st.dataframe(generalisation.source_counts(provenance), hide_index=True)
    st.caption(
        "figshare: the images the tumour-box file lists (every figshare slice, matched by thumbnail); "
        "SARTAJ: the other tumour slices; the no-tumour slices come from SARTAJ and Br35H, which "
        "nothing in the files tells apart. No collection gives tumours and no-tumour slices of one "
        "acquisition in comparable numbers." + generalisation.inference_sentence(provenance)
    )
    st.markdown(f"**Each model per source**, {sidebar.subset_caption()}")
    predictions = {name: loaders.subset_predictions(name, sidebar.subset()) for name in compared}
    st.dataframe(generalisation.per_source(predictions, provenance["test_sources"], titles), hide_index=True)

st.subheader("Leave one source out")
recipes = loaders.crosssource_recipes()
if not recipes:
    st.info("No leave-one-source-out results in artifacts/. Run `python -m core crosssource`.")
else:
    recipe = st.segmented_control(
        "Recipe",
        recipes,
        default=recipes[0],
        required=True,
        format_func=lambda r: "Shipped recipe" if r == CURRENT_RECIPE else f"Tried: {r.replace('-', ' ')}",
    )
    summary = loaders.crosssource(recipe)
    st.markdown(
        "Each model trained without one collection's images, then tested on all of them. "
        f"{summary.get('note') or recipe_sentence(summary)}"
    )
    st.dataframe(generalisation.crosssource_table(summary, titles), hide_index=True)
    st.caption(
        f"A short schedule, the same for both models: at most {summary['short_epochs']} epochs a phase, "
        f"MobileNetV2 fine-tuned on {summary['short_copies']} cached augmented copies; 95% bootstrap "
        "intervals. The no-tumour slices stay in training: a collection whose tumours the model never "
        "saw while its no-tumour slices are familiar is what a new hospital looks like."
    )
    fold = st.segmented_control(
        "Confusion without", list(summary["folds"]), default=next(iter(summary["folds"]))
    )
    if fold:
        columns = st.columns(len(summary["folds"][fold]["models"]))
        for column, (name, result) in zip(columns, summary["folds"][fold]["models"].items()):
            with column:
                st.markdown(f"**{titles.get(name, name)}** on the held-out {fold} images")
                color = loaders.architecture(name).color
                figure = figures.confusion_figure(result["confusion"], normalize=False, color=color)
                st.plotly_chart(figure, key=f"crosssource-{recipe}-{fold}-{name}")

    st.subheader("Warnings on a collection the model has not seen")
    st.markdown(
        "Which rule would have warned the user about the held-out tumours a fold model calls "
        "*no tumor*, and at what cost: a false alarm is a warning on one of the other test images "
        "although the model's answer was right. Rules: the model's out-of-distribution guard "
        "(fitted on what that fold model trained on); the guard, or the other model answering the "
        "other way on tumour or not; a *no tumor* answer whose nearest training images "
        "(ImageNet features) are mostly tumours; any of them."
    )
    found = generalisation.warnings_table(summary, titles)
    if found.empty:
        st.info("These results predate the warning rules: `python -m core crosssource --warnings-only`.")
    else:
        st.dataframe(found, hide_index=True)
        st.caption("Each cell: caught (false alarms). Target: at least 80% caught, at most 2% false alarms.")

model_card.show(compared)

folder_section(compared)
