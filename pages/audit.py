import streamlit as st

from core.data import provenance, subsets
from core.data.dataset import CLASS_NAMES
from core.evaluation import verdict
from core.studies import audit
from pages.ui import gallery, loaders, routing, sidebar, widgets

PAIRS_SHOWN, PAIR_COLUMNS = 12, 4  # a page of pairs
MAX_THRESHOLD = 0.3  # the slider's end: three times the audit's own threshold

names = routing.require_models()
st.title("Leakage audit")
st.caption(audit.WHY)
result = loaders.leakage_audit()
if result is None:
    st.info("No audit in artifacts/. Write it with `python -m core audit` (needs the dataset).")
    st.stop()
st.markdown(audit.PATIENT_CAVEAT)

stored = float(result["method"]["threshold"])
threshold = st.slider(
    "Near-duplicate threshold (distance of the thumbnails)",
    0.0,
    max(MAX_THRESHOLD, stored),
    stored,
    step=0.005,
    format="%.3f",
    help=f"A test image counts as leaked when a training image's thumbnail lies at most this far from "
    f"its own (or is the same file). The audit used {stored}; every figure on this page follows the "
    "slider, the other pages keep the audit's threshold.",
)
moved = threshold != stored
result = subsets.at_threshold(result, threshold) if moved else result
summary = subsets.AuditSummary.from_json(result)

cards = st.columns(len(summary.parts) + 1)
cards[0].metric("Test images", f"{summary.test_images:,}")
for card, (label, count) in zip(cards[1:], summary.parts.items()):  # they add up to the test set
    share = f"{summary.share(count):.0%} of the test set"
    card.metric(label, f"{count:,}", share, delta_color="off", delta_arrow="off")
st.caption(
    f"Leaked: {summary.near:,} test images ({summary.share(summary.near):.0%}) have a near duplicate in "
    f"Training, the {summary.exact:,} identical files included. The pairs below show each kind apart."
)

st.subheader(audit.CLEAN_SUBSET_HEADING)
table = audit.subset_metrics({name: loaders.predictions(name) for name in names}, result, loaders.titles())
st.dataframe(
    table,
    hide_index=True,
    column_config=widgets.number_columns(percent=("accuracy", "macro F1")),
    placeholder="–",
)
st.caption("Macro F1 is left out (–) where a subset lacks a class: the duplicated part has no glioma.")
st.subheader("Per class")
st.dataframe(audit.per_class_table(result), hide_index=True)
st.markdown(audit.within_sentence(result))
st.caption(audit.method_sentence(result))
if moved:
    st.caption(f"Duplicates inside a split are counted at the audit's own threshold, {stored}.")
    if (found := loaders.verdict_at(threshold)) is not None:
        st.subheader(f"The verdict with the clean subset at {threshold:.3f}")
        st.markdown(verdict.sentence(found, loaders.titles()))
        widgets.verdict_table(found)
        st.caption(
            "As the Overview's verdict, without the seed spread; the Overview keeps the audit's threshold."
        )

if (leak := audit.validation_leak_table(result)) is not None:
    st.subheader(audit.VALIDATION_HEADING)
    st.markdown(
        "Training holds out a validation split for every choice made while training (when to stop, "
        "when to lower the learning rate). Split image by image, part of it has a near duplicate "
        "among the images the model is fitted on, so those choices are flattered; split by "
        "duplicate group, as training does, none has."
    )
    st.dataframe(leak, hide_index=True, column_config=widgets.number_columns(percent=("share",)))

st.subheader("The pairs")
if (folder := sidebar.require_dataset()) is not None:
    kind = st.segmented_control("Show", ["exact", "near", "closest other"], default="near", required=True)
    labels = st.multiselect("Class", CLASS_NAMES, default=list(CLASS_NAMES), format_func=widgets.class_title)
    found = audit.pairs(result, kind)
    found = found[found["label"].isin(labels)]
    start = gallery.page_start(len(found), "audit_pairs", PAIRS_SHOWN)
    shown = found.iloc[start : start + PAIRS_SHOWN]
    st.caption(
        f"{len(found)} test images, closest first ({start + 1}–{start + len(shown)} here): each one, then "
        "its nearest in Training. Click the name under a test image for its detail view."
    )
    selection = gallery.remember(f"Leakage audit: {kind} pairs", found["path"].tolist())
    grid = st.columns(PAIR_COLUMNS)
    for i, (_, row) in enumerate(shown.iterrows()):
        with grid[i % PAIR_COLUMNS]:
            test_side, train_side = st.columns(2)
            with test_side:
                gallery.thumbnail(folder, row["path"], selection, 112, "audit_pairs")
            train_side.image(loaders.test_image(str(folder), row["nearest_train"], 112))
            st.caption(f"{widgets.class_title(row['label'])} · distance {row['distance']:.3f}")

st.subheader(audit.LABEL_CONFLICTS_HEADING)
st.markdown(audit.LABEL_CONFLICTS_SENTENCE)
if folder is not None:
    for column, path in zip(st.columns(len(provenance.LABEL_CONFLICTS)), provenance.LABEL_CONFLICTS):
        if (folder / path).is_file():
            column.image(loaders.test_image(str(folder), path, 224))
        column.caption(f"`{path}`: figshare says Meningioma, Kaggle Pituitary")
