"""The Generalisation page's lead: how far apart the models are on each collection held out of
training, with intervals, and a click into the tumours they miss."""

import streamlit as st

from core.report import external, held_out
from pages.ui import loaders

CHART_KEY, CHOICE_KEY, CLICKED_KEY = "held-out-chart", "held-out-collection", "held-out-clicked"


def held_out_section(names: list[str]) -> None:
    """The sentence and the chart of differences per held-out collection, then the missed tumours
    of the collection chosen by a click on its bars (or the control under the chart)."""
    found = loaders.held_out_tumours()
    transfer, control, scratch = external.roles(names)
    pairs = [(transfer, other) for other in (scratch, control) if transfer and other]
    titles = loaders.titles()
    diffs = held_out.differences(found, pairs, titles)
    if diffs.empty:
        return
    st.markdown(held_out.sentence(diffs, titles))
    colors = {f"{titles[a]} minus {titles[b]}": loaders.architecture(b).color for a, b in pairs}
    event = st.plotly_chart(
        held_out.held_out_figure(diffs, colors),
        width="stretch",
        config={"displayModeBar": False},
        key=CHART_KEY,
        on_select="rerun",
        selection_mode="points",
    )
    st.caption(
        f"Leave one source out: the fold models' own answer on the collection they trained without; "
        f"the {held_out.EXTERNAL}: the shipped models at the operating point of matched specificity. "
        "The control joins where it was scored. Click a bar to list the tumours missed there."
    )
    collections = [h.collection for h in found]
    points = (event.selection.points if event else None) or []
    clicked = points[0].get("y") if points else None
    if clicked in collections and clicked != st.session_state.get(CLICKED_KEY):
        st.session_state[CLICKED_KEY] = st.session_state[CHOICE_KEY] = clicked  # a new click
    chosen = st.segmented_control("Missed tumours on", collections, key=CHOICE_KEY)
    if chosen:
        h = next(h for h in found if h.collection == chosen)
        missed = held_out.missed(h, titles)
        st.caption(f"{len(missed):,} of {len(h.found):,} tumours missed by at least one model ({h.rule}).")
        st.dataframe(missed, hide_index=True)
