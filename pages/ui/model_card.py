"""The model card: what the training data covers, how the models fare beyond it, what not to use them for."""

import streamlit as st

from core import generalisation
from core.provenance import COVERAGE
from pages.ui import loaders

NOT_FOR = (
    "Diagnosis or triage of any patient: these are research models, validated on public slices only.",
    "Ruling a tumour out: on a collection they have not seen, the models miss tumours they would "
    "find in a familiar one (see leave one source out).",
    "Sequences, planes or scanners outside the training collections, CT, whole volumes, or any "
    "image that is not a single 2-D brain MRI slice.",
    "Tumour types other than glioma, meningioma and pituitary tumour: they get one of those three "
    "labels or *no tumor* all the same.",
)


def recipe_sentence(summary: dict) -> str:
    """What the models of a leave-one-source-out run trained with, from their stored configs."""
    config = next(iter(next(iter(summary["folds"].values()))["models"].values()))["config"]
    parts = ["every image decoded in grey", "rotation, shift, zoom and flips"]
    if config.get("intensity_augmentation"):
        parts.append("intensity changes (gamma, contrast, bias field, blur, noise, inversion)")
    if config.get("lesion_pastes"):
        parts.append(f"{config['lesion_pastes']:g} pasted-lesion slice per no-tumour slice")
    return f"Recipe: {', '.join(parts)}."


def show(names: list[str], expanded: bool = True) -> None:
    """The model card for the models `names`, in an expander."""
    titles = loaders.titles()
    with st.expander(
        "Model card: what these models have seen, and what not to use them for", expanded=expanded
    ):
        st.markdown("**Training data.** The Kaggle Brain Tumor MRI Dataset's Training split, which merges:")
        st.markdown("\n".join(f"- **{source}**: {covers}" for source, covers in COVERAGE.items()))
        summary = loaders.crosssource()
        if summary is not None:
            models = {name: titles[name] for name in names if name in titles}
            st.markdown(f"**Beyond the training collections.** {generalisation.recall_line(summary, models)}")
        st.markdown("**Not for:**\n" + "\n".join(f"- {item}" for item in NOT_FOR))
