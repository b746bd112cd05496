import streamlit as st

from core.report import figures, generalisation
from pages.ui import loaders, model_card, routing, sidebar, widgets
from pages.ui.embedding import embedding_section
from pages.ui.external import external_section
from pages.ui.folder_eval import folder_section
from pages.ui.held_out import held_out_section
from pages.ui.hospital import hospital_section

names = routing.require_models()
compared = [name for name in names if not loaders.architecture(name).control]
titles = {name: loaders.architecture(name).short_name for name in names}  # tables with two columns a model
st.title("Generalisation")
st.caption(
    "Test accuracy says how a model does on more images from the collections it learned from. "
    "This page asks what happens on a collection it has not seen: the Kaggle dataset merges "
    "three, and a model can learn which collection a slice comes from instead of the tumour."
)
held_out_section(names)

st.subheader(generalisation.SOURCES_HEADING)
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
    st.markdown(f"**{generalisation.PER_SOURCE_HEADING}**, {sidebar.subset_caption()}")
    predictions = {name: loaders.subset_predictions(name, sidebar.subset()) for name in names}
    st.dataframe(generalisation.per_source(predictions, provenance["test_sources"], titles), hide_index=True)

st.subheader(generalisation.CROSSSOURCE_HEADING)
recipes = loaders.crosssource_recipes()
if not recipes:
    st.info("No leave-one-source-out results in artifacts/. Run `python -m core crosssource`.")
else:
    recipe = widgets.choose_one("Recipe", recipes, generalisation.recipe_title)
    summary = loaders.crosssource(recipe)
    st.markdown(generalisation.crosssource_sentence(summary))
    st.dataframe(generalisation.crosssource_table(summary, titles), hide_index=True)
    st.caption(generalisation.schedule_caption(summary))
    fold = st.segmented_control("Confusion without", list(summary.folds), default=next(iter(summary.folds)))
    if fold:
        models = summary.folds[fold].models
        for column, (name, result) in zip(st.columns(len(models)), models.items()):
            with column:
                st.markdown(generalisation.held_out_title(titles.get(name, name), fold))
                color = loaders.architecture(name).color
                figure = figures.confusion_figure(result.confusion, normalize=False, color=color)
                st.plotly_chart(figure, key=f"crosssource-{recipe}-{fold}-{name}")

    if len(recipes) > 1:
        with st.expander("Every recipe tried, side by side"):
            st.markdown(
                "Tumour recall / 4-class accuracy on the held-out images, per recipe and fold "
                "(each recipe's intervals and the other test images are above, once chosen)."
            )
            summaries = {recipe: found for recipe in recipes if (found := loaders.crosssource(recipe))}
            st.dataframe(generalisation.recipes_table(summaries, titles), hide_index=True)

    st.subheader(generalisation.WARNINGS_HEADING)
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
        st.info(generalisation.WARNINGS_PREDATE)
    else:
        st.dataframe(found, hide_index=True)
        st.caption(generalisation.WARNINGS_CAPTION)

external_section(names)
hospital_section(names)
embedding_section(names)

model_card.show(compared)

folder_section(names)
