import streamlit as st

from core import wording
from core.data.dataset import CLASS_NAMES
from core.data.imagefile import UPLOAD_SUFFIXES, ImageError
from core.evaluation import efficiency
from core.report.figures import probability_bars
from core.serving.predict import (
    MAX_BATCH_FILES,
    NOT_RECOGNISED,
    TOO_SMALL,
    batch_summary,
    confidence_text,
    predict_files,
    refusal,
    shown_label,
    shown_labels,
    shown_time,
    tumour_dispute,
)
from pages.ui import loaders, model_card, routing, widgets

EXPLAINED = "explained_upload"  # the upload whose Grad-CAM is shown

names = routing.require_models()
titles = loaders.titles()
st.title("Live prediction")
st.caption(
    f"Research tool, not a medical device. {wording.both(len(names)).capitalize()} models classify "
    f"the same upload. Limits: {st.get_option('server.maxUploadSize')} MB per file (the uploader "
    f"refuses larger files) and {MAX_BATCH_FILES} files per batch (the first {MAX_BATCH_FILES} are "
    "classified); for a whole folder, use `python -m core predict --data DIR --out results.csv`."
)

model_card.show(names, expanded=False)

benchmark = (loaders.optional(loaders.benchmark) or {}).get("models", {})
medians = {widgets.short_name(n): efficiency.served_latency_ms(benchmark.get(n)) for n in names}
timing_note = (
    "Inference: this upload's one call to the model; waiting: for other users' predictions with the "
    "same model, which runs one at a time. "
)
if None not in medians.values():
    timing_note += (
        "The Overview's cards give the median of many such calls on a quiet machine ("
        + wording.listed([f"{name} {ms:.1f} ms" for name, ms in medians.items()])
        + "): one call also varies with whatever else the machine is doing, and the first after a "
        "start is slower."
    )

single, batch = st.tabs(["One image", "Batch"])

with single:
    upload = st.file_uploader("An MRI slice", type=sorted(UPLOAD_SUFFIXES), key="single_upload")
    if upload is not None:
        try:
            results = {n: loaders.predictor(n).predict_file(upload.getvalue(), upload.name) for n in names}
        except ImageError as error:
            st.error(str(error))
        else:
            flags = loaders.foreign_warnings({n: result.upload for n, result in results.items()})
            widgets.warn_if_foreign(flags)
            refused = refusal(flags.values())  # NOT_RECOGNISED or TOO_SMALL instead of a class
            answers = {titles[n]: CLASS_NAMES[int(r.probabilities.argmax())] for n, r in results.items()}
            if not refused:  # answers to doubt: the models disagree, or the nearest training images do
                for doubt in (tumour_dispute(answers), loaders.second_opinion(results, answers)):
                    if doubt:
                        st.warning(doubt)
            image_column, result_column = st.columns([1, 2])
            # The decoded copy, largest first: a browser cannot show DICOM or CMYK files as uploaded.
            decoded = max((result.image for result in results.values()), key=len)
            image_column.image(decoded, caption=upload.name, width="stretch")
            with result_column:
                for column, (name, result) in zip(st.columns(len(names)), results.items()):
                    column.markdown(widgets.title(name))
                    column.metric(
                        "Prediction",
                        refused or shown_label(result.probabilities, foreign=False),
                        None if refused else f"{confidence_text(result.probabilities)} confident",
                        delta_color="off",
                        delta_arrow="off",
                    )
                    column.caption(shown_time(result))
                st.caption(timing_note)
                st.caption(widgets.calibration_note(names))
                bars = probability_bars({n: result.probabilities for n, result in results.items()}, titles)
                widgets.probability_chart(bars, refused)
            if st.button("Explain", icon=":material/visibility:", help="Grad-CAM++ of each model's answer"):
                st.session_state[EXPLAINED] = upload.file_id
            if st.session_state.get(EXPLAINED) == upload.file_id:
                images = {name: result.upload.pixels for name, result in results.items()}
                widgets.gradcam_pair(images, "Grad-CAM++", widgets.OPACITY, refused=refused, bars=False)

with batch:
    uploads = st.file_uploader(
        "Many MRI slices (files that are not images get an error in their row)",
        accept_multiple_files=True,
        key="batch_upload",
    )
    if uploads and len(uploads) > MAX_BATCH_FILES:
        st.warning(
            f"**{len(uploads):,} files**: a batch classifies at most {MAX_BATCH_FILES}, so the first "
            f"{MAX_BATCH_FILES} are classified and the other {len(uploads) - MAX_BATCH_FILES:,} are left "
            "out. For a whole folder, use `python -m core predict --data DIR --out results.csv`.",
            icon=":material/warning:",
        )
        uploads = uploads[:MAX_BATCH_FILES]
    if uploads:
        progress = st.progress(0.0, text=f"Classifying {len(uploads)} files…")
        table = predict_files(
            {n: loaders.predictor(n) for n in names},
            ((u.name, u.getvalue()) for u in uploads),
            on_progress=lambda done: progress.progress(done / len(uploads), text=f"{done}/{len(uploads)}"),
            checkers={n: loaders.checker(n) for n in names},
        )
        progress.empty()
        summary = batch_summary(table)
        st.markdown(
            f"**{summary.classified}** classified, **{summary.failed}** refused; "
            f"the models agree on **{summary.agree}**."
        )
        if summary.out_of_distribution:
            st.warning(
                f"**{summary.out_of_distribution}** of these do not look like the brain MRI slices the "
                f"models learned from: their labels are shown as *{NOT_RECOGNISED}*, without confidences, "
                "and they count in neither agreement nor disagreement (the CSV keeps their labels, with "
                "`out_of_distribution` true).",
                icon=":material/warning:",
            )
        if summary.too_small:
            st.warning(
                f"**{summary.too_small}** of these are smaller than a model's input: enlarged, they look "
                f"unlike the training images to the guard whatever they show, so their labels are shown "
                f"as *{TOO_SMALL}* (the CSV keeps their labels, with `too_small` true).",
                icon=":material/warning:",
            )
        st.dataframe(
            shown_labels(table, names),
            hide_index=True,
            column_config={
                **{f"{n}_label": titles[n] for n in names},
                "out_of_distribution": "unlike the training data",
                "too_small": "too small to judge",
                **{
                    f"{n}_confidence": st.column_config.NumberColumn(
                        f"{widgets.short_name(n)} confidence", format="percent"
                    )
                    for n in names
                },
            },
        )
        st.caption(widgets.calibration_note(names))
        st.download_button(
            "Download results (CSV)",
            table.to_csv(index=False).encode(),
            "predictions.csv",
            "text/csv",
            on_click="ignore",
        )
