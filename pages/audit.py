import streamlit as st

from core import audit
from core.data import CLASS_NAMES
from pages import shared

names = shared.require_models()
st.title("Leakage audit")
st.caption(
    "Test images that also sit in Training, byte for byte or nearly, flatter every model. "
    "The clean subset is the test images with no near duplicate in Training."
)
result = shared.leakage_audit()
if result is None:
    st.info("No audit in artifacts/. Write it with `python -m core.audit` (needs the dataset).")
    st.stop()

summary, n_test = result["test_vs_train"], result["dataset"]["test_images"]
clean = audit.clean_test_paths(result)
counts = {
    "Same file in Training": summary["exact"],
    "Near duplicate in Training": summary["near"],
    "Clean subset": len(clean),
}
cards = st.columns(4)
cards[0].metric("Test images", f"{n_test:,}")
for card, (label, count) in zip(cards[1:], counts.items()):
    share = f"{count / n_test:.0%} of the test set"
    card.metric(label, f"{count:,}", share, delta_color="off", delta_arrow="off")

left, right = st.columns(2)
with left:
    st.subheader("Each model on the clean subset")
    table = audit.subset_metrics({name: shared.predictions(name) for name in names}, result, shared.titles())
    st.dataframe(
        table,
        hide_index=True,
        column_config={m: st.column_config.NumberColumn(format="percent") for m in ("accuracy", "macro F1")},
    )
with right:
    st.subheader("Per class")
    st.dataframe(
        [
            {
                "class": shared.class_title(name),
                "test images": c["test_images"],
                "same file in Training": c["exact"],
                "near duplicate in Training": c["near"],
            }
            for name, c in summary["per_class"].items()
        ],
        hide_index=True,
    )
within = result["within"]
st.markdown(
    f"Duplicates inside a split: **{within['Training']['near_pairs']:,}** near-duplicate pairs in "
    f"Training ({within['Training']['exact_pairs']:,} identical files), "
    f"**{within['Testing']['near_pairs']:,}** in Testing ({within['Testing']['exact_pairs']:,} identical). "
    f"Pairs whose labels disagree: **{len(summary['label_conflicts'])}** between the splits, "
    f"**{len(within['Training']['label_conflicts']) + len(within['Testing']['label_conflicts'])}** within."
)
method = result["method"]
st.caption(f"Exact: {method['exact']}. Near: {method['near']}, at most {method['threshold']}.")

st.subheader("The pairs")
if (folder := shared.require_dataset()) is not None:
    kind = st.segmented_control("Show", ["exact", "near", "closest other"], default="near", required=True)
    labels = st.multiselect("Class", CLASS_NAMES, default=list(CLASS_NAMES), format_func=shared.class_title)
    found = audit.pairs(result, kind)
    found = found[found["label"].isin(labels)]
    st.caption(
        f"{len(found)} test images; the first 12, closest first: each one, then its nearest in Training."
    )
    grid = st.columns(4)
    for i, (_, row) in enumerate(found.head(12).iterrows()):
        with grid[i % 4]:
            test_side, train_side = st.columns(2)
            test_side.image(shared.test_image(str(folder), row["path"], 112))
            train_side.image(shared.test_image(str(folder), row["nearest_train"], 112))
            st.caption(f"{shared.class_title(row['label'])} · distance {row['distance']:.3f}")
