"""The Overview's lead: both axes of the comparison in a headline, a sentence and one chart."""

import streamlit as st

from core.data import subsets
from core.evaluation import verdict
from core.report import axes
from pages.ui import loaders


def headline_and_chart(found: verdict.Verdict, names: list[str]) -> None:
    """The in-source verdict's headline with the out-of-source one; where the external set was
    scored, each model's runs on both axes (accuracy in source, tumours found out of source)."""
    titles = loaders.titles()
    in_source = verdict.headline(found, titles)
    outside = loaders.external()
    if outside is None:
        st.markdown(f"### {in_source}")
        return
    summary, per_image = outside
    st.markdown(f"### {axes.headline(in_source, summary, per_image, titles)}")
    where = subsets.CLEAN if loaders.clean_paths() else subsets.FULL
    spreads = loaders.optional(lambda: loaders.seed_spreads(where))
    if not spreads:
        return
    runs = axes.runs_table({name: spreads[name] for name in names}, summary, titles)
    st.markdown(axes.sentence(runs, f"the {where.lower()}", summary))
    colors = {titles[name]: loaders.architecture(name).color for name in names}
    st.plotly_chart(
        axes.axes_figure(runs, colors, f"the {where.lower()}"),
        width="stretch",
        config={"displayModeBar": False},
        key="two-axes",
    )
    if note := axes.missing_note(runs):
        st.caption(note)
