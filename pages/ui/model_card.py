"""The model card: what the training data covers, how the models fare beyond it, what not to use them for."""

import streamlit as st

from core.data.provenance import COVERAGE
from core.report import generalisation
from core.report.model_card import NOT_FOR, TITLE, TRAINING_DATA
from pages.ui import loaders


def show(names: list[str], expanded: bool = True) -> None:
    """The model card for the models `names`, in an expander."""
    titles = loaders.titles()
    with st.expander(TITLE, expanded=expanded):
        st.markdown(f"**Training data.** {TRAINING_DATA}")
        st.markdown("\n".join(f"- **{source}**: {covers}" for source, covers in COVERAGE.items()))
        summary = loaders.crosssource()
        if summary is not None:
            models = {name: titles[name] for name in names if name in titles}
            st.markdown(f"**Beyond the training collections.** {generalisation.recall_line(summary, models)}")
        st.markdown("**Not for:**\n" + "\n".join(f"- {item}" for item in NOT_FOR))
