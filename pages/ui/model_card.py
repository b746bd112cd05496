"""The model card: what the training data covers, how the models fare beyond it, what not to use them for."""

import streamlit as st

from core.report import model_card
from pages.ui import loaders


def show(names: list[str], expanded: bool = True) -> None:
    """The model card for the models `names`, in an expander."""
    titles = loaders.titles()
    with st.expander(model_card.TITLE, expanded=expanded):
        st.markdown(model_card.TRAINING_DATA)
        st.markdown("\n".join(f"- {item}" for item in model_card.coverage_items()))
        summary = loaders.crosssource()
        if summary is not None:
            models = {name: titles[name] for name in names if name in titles}
            st.markdown(model_card.beyond_line(summary, models))
        st.markdown(f"{model_card.NOT_FOR_HEADING}\n" + "\n".join(f"- {item}" for item in model_card.NOT_FOR))
