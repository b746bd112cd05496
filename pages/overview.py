import itertools

import streamlit as st

from core import wording
from core.data import subsets
from core.data.dataset import CLASS_TITLES
from core.evaluation import compare, paired, seeds, stats, verdict
from core.report import external, generalisation, reference
from core.report.figures import difference_bars, per_class_bars
from pages.ui import axes, loaders, model_card, report, routing, sidebar, widgets

# Title first: Streamlit shows each element as the script reaches it, so the page appears while
# the figures below are computed.
st.title("Transfer learning vs training from scratch")
st.caption(
    f"{len(CLASS_TITLES)}-class brain-tumor MRI classification "
    f"({', '.join(title.lower() for title in CLASS_TITLES.values())})."
)

names = routing.require_models()
titles = loaders.titles()
subset = sidebar.subset()

if (found := loaders.accuracy_verdict()) is not None:
    with st.container(border=True, key="verdict"):
        axes.headline_and_chart(found, names)
        st.markdown("**In source**")
        st.markdown(verdict.sentence(found, titles))
        widgets.verdict_table(found)
        st.markdown("**Out of source**")
        if (summary := loaders.crosssource()) is not None:
            st.caption(generalisation.recall_line(summary, titles))
        if (outside := loaders.external()) is not None:
            st.caption(external.line(outside[0], titles))
            where = subsets.CLEAN if loaders.clean_paths() else subsets.FULL
            served = {name: loaders.subset_accuracy(name, where) for name in names}
            in_source = seeds.means(loaders.optional(lambda: loaders.seed_spreads(where)) or {}, served)
            same_recipe = len({loaders.config(name).lesion_pastes for name in names}) == 1
            st.markdown(
                external.axes_sentence(in_source, f"the {where.lower()}", outside[0], titles, same_recipe)
            )
        report.download_button()
benchmark = (loaders.optional(loaders.benchmark) or {}).get("models", {})
headlines = {
    name: compare.headline(
        loaders.subset_metrics(name, subset),
        loaders.metrics(name).model,
        loaders.quickest_manifest(name),
        benchmark.get(name),
    )
    for name in names
}
n_full = loaders.n_test_images()
st.markdown(sidebar.subset_caption())

CARDS_PER_ROW = 2  # a third model's card goes on a row of its own: three abreast cut the figures
interval_slots = {}
card_columns = [
    column
    for start in range(0, len(names), CARDS_PER_ROW)
    for column in st.columns(CARDS_PER_ROW)[: len(names[start : start + CARDS_PER_ROW])]
]
for column, name in zip(card_columns, names):
    other = next((other for other in names if other != name), None)
    with column.container(border=True):
        st.markdown(f"#### {widgets.title(name)}")
        if other:
            st.caption(f"Arrows: the difference from {titles[other]}.")
        cards = compare.cards(headlines[name], headlines[other] if other else None)
        for row in (cards[:3], cards[3:]):
            for cell, card in zip(st.columns(3), row):
                cell.metric(
                    card.label,
                    card.value,
                    delta=card.delta,
                    delta_color=card.delta_color,
                    help=f"Difference: this model minus {titles[other]}." if other else None,
                )
        interval_slots[name] = st.empty()  # filled once the bootstrap below has run

audit_summary = loaders.optional(loaders.audit_summary)
near_share = audit_summary.near_share if audit_summary else None
st.markdown(compare.cards_sentence(headlines, titles, clean=subset == subsets.CLEAN, near_share=near_share))
model_card.show(names, expanded=False)

spreads = loaders.optional(lambda: loaders.seed_spreads(subset))
for name, ci in loaders.intervals(subset).items():
    interval_slots[name].caption(
        "95% bootstrap CI: accuracy "
        f"{ci.accuracy.low:.1%} to {ci.accuracy.high:.1%}, macro F1 "
        f"{ci.macro_f1.low:.1%} to {ci.macro_f1.high:.1%}"
        + (f". {seeds.caption(spreads[name])}" if spreads else "")
    )

if len(names) >= 2:
    summary = loaders.paired_summary(subset)
    a, b = summary.names
    st.subheader("Paired comparison on the same images")
    st.markdown(paired.paired_reading(summary, titles))
    left, right = st.columns([2, 3])
    with left:
        st.markdown("**Agreement table** (images)")
        st.dataframe(paired.agreement_table(summary.mcnemar, widgets.short_name(a), widgets.short_name(b)))
        accuracy = paired.points_with_interval(summary.difference.accuracy)
        macro_f1 = paired.points_with_interval(summary.difference.macro_f1)
        st.caption(
            f"{titles[a]} minus {titles[b]}: accuracy {accuracy}, macro F1 {macro_f1}. Intervals from "
            f"{stats.BOOTSTRAP_SAMPLES:,} bootstrap resamples of these images, the same resample for "
            "both models; McNemar's exact test uses only the images where exactly one model is right."
        )
    with right:
        st.markdown(f"**Recall per class**: {titles[a]} minus {titles[b]}")
        st.plotly_chart(
            difference_bars(summary.per_class, "recall difference", loaders.architecture(a).color),
            width="stretch",
            config={"displayModeBar": False},
        )

if spreads and len(names) >= 2:
    st.subheader("Over seeds")
    readings = (seeds.spread_sentence(spreads, a, b, titles) for a, b in itertools.combinations(names, 2))
    st.markdown(" ".join(dict.fromkeys(readings)))  # a model with one run is named once
    for name in names:
        if loaders.architecture(name).control:
            control, transfer = loaders.config(name), loaders.config(names[0])
            same_pastes = control.lesion_pastes == transfer.lesion_pastes
            note = wording.control_note(
                titles[name], control.image_size, titles[names[0]], transfer.image_size, same_pastes
            )
            st.caption(note)
    st.dataframe(
        seeds.table(spreads, titles),
        hide_index=True,
        column_config=widgets.number_columns(
            percent=("mean accuracy", "SD", "lowest", "highest", "mean macro F1")
        ),
        placeholder="–",
    )
    st.caption(
        "Each run starts from other initial weights and sees the training images in another order "
        "and augmentation; the validation split is the same. The bootstrap intervals above are the "
        "served run's alone."
    )

st.subheader("Per class")
table = compare.per_class_table({name: loaders.subset_metrics(name, subset) for name in names}, titles)
colors = {titles[name]: loaders.architecture(name).color for name in names}
st.plotly_chart(per_class_bars(table, colors), width="stretch")
st.dataframe(
    compare.per_class_wide(table, loaders.subset_metrics(names[0], subset)),
    hide_index=True,
    column_config=widgets.number_columns(percent=("precision", "recall", "f1")),
)

st.subheader(reference.HEADING)
full_headlines = {
    name: compare.headline(
        loaders.metrics(name),
        loaders.metrics(name).model,
        loaders.quickest_manifest(name),
        benchmark.get(name),
    )
    for name in names
}
st.dataframe(
    compare.reference_table(full_headlines, titles, n_full, reference.PUBLISHED_MOBILENETV2),
    hide_index=True,
    column_config=widgets.number_columns(
        {"parameters": "localized", "file size (MB)": "%.1f", "ms / image": "%.1f"},
        percent=("accuracy", "macro F1"),
    ),
)
st.caption(reference.caption(n_full))
