import streamlit as st

from core import compare, release
from core.figures import MODEL_COLORS, difference_bars, per_class_bars
from core.reference import PUBLISHED_MOBILENETV2
from pages import shared

# Title first: Streamlit shows each element as the script reaches it, so the page appears while
# the figures below are computed.
st.title("Transfer learning vs training from scratch")
st.caption("Four-class brain-tumor MRI classification (glioma, meningioma, no tumor, pituitary).")

names = shared.require_models()
titles = shared.titles()
subset = shared.subset()
benchmark = (shared.benchmark() or {}).get("models", {})
headlines = {
    name: compare.headline(
        shared.metrics(name) | shared.subset_metrics(name, subset), shared.manifest(name), benchmark.get(name)
    )
    for name in names
}
n_full = shared.metrics(names[0])["n_images"]
st.markdown(shared.subset_caption())


def points(delta: float) -> str:
    return f"{delta * 100:+.2f} points"


# label, headline key, value format, difference format, which direction is good
CARDS = [
    ("Accuracy", "accuracy", "{:.2%}".format, points, "normal"),
    ("Macro F1", "macro_f1", "{:.2%}".format, points, "normal"),
    ("Parameters", "total_params", "{:,.0f}".format, "{:+,.0f}".format, "inverse"),
    ("File size", "file_size_mb", "{:.1f} MB".format, "{:+.1f} MB".format, "inverse"),
    ("Inference", "ms_per_image", "{:.1f} ms".format, "{:+.1f} ms".format, "inverse"),
    ("Training time", "training_time_s", "{:,.0f} s".format, "{:+,.0f} s".format, "inverse"),
]
intervals = {}
for column, name in zip(st.columns(len(names)), names):
    other = next((other for other in names if other != name), None)
    with column.container(border=True):
        st.markdown(f"#### {shared.title(name)}")
        for row in (CARDS[:3], CARDS[3:]):
            for cell, (label, key, show, show_delta, delta_color) in zip(st.columns(3), row):
                value, other_value = headlines[name][key], headlines[other][key] if other else None
                cell.metric(
                    label,
                    show(value) if value is not None else "not measured",
                    delta=show_delta(value - other_value) if None not in (value, other_value) else None,
                    delta_color=delta_color,
                    help=f"Difference: this model minus {titles[other]}." if other else None,
                )
        intervals[name] = st.empty()  # filled once the bootstrap below has run

st.markdown(compare.reading(headlines, titles, clean=subset == compare.CLEAN))

paired = shared.paired_summary(subset) if len(names) == 2 else None
if paired:
    for name, slot in intervals.items():
        ci = paired["intervals"][name]
        slot.caption(
            "95% bootstrap CI: accuracy "
            f"{ci['accuracy'].low:.1%} to {ci['accuracy'].high:.1%}, macro F1 "
            f"{ci['macro_f1'].low:.1%} to {ci['macro_f1'].high:.1%}"
        )

    st.subheader("Paired comparison on the same images")
    st.markdown(compare.paired_reading(paired, titles))
    a, b = paired["names"]
    left, right = st.columns([2, 3])
    with left:
        st.markdown("**Agreement table** (images)")
        st.dataframe(compare.agreement_table(paired["mcnemar"], shared.SHORT_NAMES[a], shared.SHORT_NAMES[b]))
        accuracy, macro_f1 = (
            compare.points_with_interval(paired["difference"][m]) for m in ("accuracy", "macro_f1")
        )
        st.caption(
            f"{titles[a]} minus {titles[b]}: accuracy {accuracy}, macro F1 {macro_f1}. Intervals from 2,000 "
            "bootstrap resamples of these images, the same resample for both models; McNemar's exact "
            "test uses only the images where exactly one model is right."
        )
    with right:
        st.markdown(f"**Recall per class**: {titles[a]} minus {titles[b]}")
        st.plotly_chart(
            difference_bars(paired["per_class"], "recall difference", MODEL_COLORS[a]),
            width="stretch",
            config={"displayModeBar": False},
        )

st.subheader("Per class")
table = compare.per_class_table({name: shared.subset_metrics(name, subset) for name in names}, titles)
colors = {titles[name]: MODEL_COLORS[name] for name in names}
st.plotly_chart(per_class_bars(table, colors), width="stretch")
wide = table.pivot_table(index=["class", "model"], columns="metric", values="value").reset_index()
wide["class"] = wide["class"].map(shared.class_title)
st.dataframe(
    wide[["class", "model", "precision", "recall", "f1"]],
    hide_index=True,
    column_config={m: st.column_config.NumberColumn(format="percent") for m in ("precision", "recall", "f1")},
)

st.subheader("Against the published figures")
full_headlines = {
    name: compare.headline(shared.metrics(name), shared.manifest(name), benchmark.get(name)) for name in names
}
reference = compare.reference_table(full_headlines, titles, n_full, PUBLISHED_MOBILENETV2)
st.dataframe(
    reference,
    hide_index=True,
    column_config={
        "accuracy": st.column_config.NumberColumn(format="percent"),
        "macro F1": st.column_config.NumberColumn(format="percent"),
        "parameters": st.column_config.NumberColumn(format="localized"),
        "file size (MB)": st.column_config.NumberColumn(format="%.1f"),
        "ms / image": st.column_config.NumberColumn(format="%.1f"),
    },
)
st.caption(
    f"Always on the full test set of {release.describe(n_full)}, the one the published figures "
    "use. Published rows are quoted, not reproduced; their timing hardware was not stated. Ours: "
    "median batch-1 latency on this machine's CPU, through LiteRT as the app predicts (see "
    "Efficiency). A second study claimed 99% for a custom CNN, measured on images it had trained "
    "on, so it has no comparable row."
)
