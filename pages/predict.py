from pathlib import Path

import streamlit as st

from core import wording
from core.data import perturb
from core.data.dataset import CLASS_NAMES
from core.data.decode import decode_image
from core.data.imagefile import UPLOAD_SUFFIXES, ImageError
from core.evaluation import efficiency, examples, hospital
from core.report.figures import probability_bars
from core.serving.predict import (
    MAX_BATCH_FILES,
    NOT_RECOGNISED,
    TOO_SMALL,
    batch_summary,
    confidence_text,
    doubted_no_tumour,
    operating_answer,
    predict_files,
    refusal,
    shown_label,
    shown_labels,
    shown_time,
    tumour_dispute,
)
from pages.ui import loaders, model_card, routing, sidebar, widgets

EXPLAINED = "explained_upload"  # the image whose Grad-CAM is shown
EXAMPLE_KEY = "example_case"  # the example case picked from the tray
SOURCE_KEY = "single_source"  # "upload" or "example": whichever was used last is shown
# Answers in a size that fits "Not recognised" in a third of the page at 1280 px, unclipped.
ANSWER_STYLE = "<style>.st-key-answers [data-testid='stMetricValue'] {font-size: 1.5rem}</style>"
WHAT_IF_SIZE = 224  # the "What if" sliders change the image at the largest model input

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

thresholds = loaders.operating_thresholds(names)
operating_note = (
    f"At its operating point a model answers tumour or no tumour: tumour where {hospital.OPERATING_POINT}. "
    "The Generalisation page compares the models there, at matched specificity; the answer above it is "
    "the model's most probable class."
)

single, batch = st.tabs(["One image", "Batch"])


def _latest(source: str):
    """on_change of the uploader and of the tray: the last one used decides what is shown."""
    return lambda: st.session_state.update({SOURCE_KEY: source})


def chosen_input() -> tuple[str, bytes, examples.Example | None] | None:
    """(name, bytes, example) of what to classify: the upload or the example picked last, or None."""
    upload = st.file_uploader(
        "An MRI slice", type=sorted(UPLOAD_SUFFIXES), key="single_upload", on_change=_latest("upload")
    )
    tray = loaders.optional(loaders.examples) or [examples.PHOTO]
    by_key = {example.key: example for example in tray}
    picked = st.pills(
        "Or one click for an example",
        list(by_key),
        format_func=lambda key: by_key[key].title,
        key=EXAMPLE_KEY,
        on_change=_latest("example"),
    )
    example = by_key.get(picked)
    if upload is not None and (example is None or st.session_state.get(SOURCE_KEY) != "example"):
        return upload.name, upload.getvalue(), None
    if example is None:
        return None
    if example.path is None:
        return examples.PHOTO_NAME, examples.photo_bytes(), example
    if (folder := sidebar.require_dataset()) is None:  # it says where to set the dataset folder
        return None
    return Path(example.path).name, (folder / example.path).read_bytes(), example


def what_if(name: str, data: bytes) -> tuple[str, bytes, str]:
    """The "What if…" sliders: (name, bytes, what changed) of the image as they change it."""
    with st.expander("What if… (contrast, noise, rotation, bias field)", icon=":material/tune:"):
        columns = st.columns(4)
        change = perturb.WhatIf(
            contrast=columns[0].slider("Contrast", 0.3, 2.0, 1.0, 0.05, key="whatif_contrast"),
            noise=columns[1].slider("Noise (σ, grey levels)", 0.0, 60.0, 0.0, 1.0, key="whatif_noise"),
            rotation=columns[2].slider("Rotation (°)", -45.0, 45.0, 0.0, 1.0, key="whatif_rotation"),
            bias=columns[3].slider("Bias field", 0.0, 0.9, 0.0, 0.05, key="whatif_bias"),
        )
        st.caption("Every model answers the changed image; the sliders at their start leave it as it is.")
    if change.neutral:
        return name, data, ""
    try:
        pixels = decode_image(data, WHAT_IF_SIZE, name=name)
    except ImageError:
        return name, data, ""  # the answer below says what is wrong with the file
    return (
        f"{Path(name).stem} ({change.describe()}).png",
        perturb.png_bytes(perturb.apply(pixels, change)),
        change.describe(),
    )


@st.fragment
def single_image() -> None:
    """The One image tab: a fragment, so an upload or a slider reruns this part alone."""
    chosen = chosen_input()
    if chosen is None:
        return
    name, data, example = chosen
    if example is not None:
        st.info(example.why, icon=":material/lightbulb:")
    name, data, changed = what_if(name, data)
    shown_id = f"{name}:{hash(data)}"
    try:
        results = {n: loaders.predictor(n).predict_file(data, name) for n in names}
    except ImageError as error:
        st.error(str(error))
    else:
        flags = loaders.foreign_warnings({n: result.upload for n, result in results.items()})
        widgets.warn_if_foreign(flags)
        refused = refusal(flags.values())  # NOT_RECOGNISED or TOO_SMALL instead of a class
        answers = {titles[n]: CLASS_NAMES[int(r.probabilities.argmax())] for n, r in results.items()}
        # Answers to doubt: the models disagree, a model leans to a tumour, or the nearest training images do.
        doubts = st.container()
        if not refused and (dispute := tumour_dispute(answers)):
            doubts.warning(dispute)
        shown = {titles[n]: result.probabilities for n, result in results.items()}
        if not refused and (leaning := doubted_no_tumour(shown)):
            doubts.warning(leaning)
        image_column, result_column = st.columns([1, 3])
        # The decoded copy, largest first: a browser cannot show DICOM or CMYK files as uploaded.
        decoded = max((result.image for result in results.values()), key=len)
        image_column.image(decoded, caption=name, width="stretch")
        if example is not None and example.twin and (folder := sidebar.dataset_dir()) is not None:
            image_column.image(
                loaders.test_image(str(folder), example.twin, len(decoded)),
                caption=f"Its twin in Training: {example.twin}",
                width="stretch",
            )
        with result_column, st.container(key="answers"):
            st.html(ANSWER_STYLE)
            for column, (model, result) in zip(st.columns(len(names)), results.items()):
                column.markdown(widgets.title(model))
                column.metric(
                    "Prediction",
                    refused or shown_label(result.probabilities, foreign=False),
                    None if refused else f"{confidence_text(result.probabilities)} confident",
                    delta_color="off",
                    delta_arrow="off",
                )
                if not refused and model in thresholds:
                    column.caption(
                        f"At its operating point: {operating_answer(result.probabilities, thresholds[model])}"
                    )
                column.caption(shown_time(result))
            if changed:
                st.caption(f"Answers to the image changed by {changed}.")
            if thresholds and not refused:
                st.caption(operating_note)
            st.caption(timing_note)
            st.caption(widgets.calibration_note(names))
            bars = probability_bars({n: result.probabilities for n, result in results.items()}, titles)
            widgets.probability_chart(bars, refused)
        # After the answers are on screen: the nearest training images take a network of their own.
        if not refused and (second := loaders.second_opinion(results, answers)):
            doubts.warning(second)
        if st.button("Explain", icon=":material/visibility:", help="Grad-CAM++ of each model's answer"):
            st.session_state[EXPLAINED] = shown_id
        if st.session_state.get(EXPLAINED) == shown_id:
            images = {model: result.upload.pixels for model, result in results.items()}
            widgets.gradcam_pair(images, "Grad-CAM++", widgets.OPACITY, refused=refused, bars=False)


with single:
    single_image()

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
            thresholds=thresholds,
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
                **{f"{n}_tumour": f"{widgets.short_name(n)} at its operating point" for n in thresholds},
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
        if thresholds:
            st.caption(operating_note)
        st.caption(widgets.calibration_note(names))
        st.download_button(
            "Download results (CSV)",
            table.to_csv(index=False).encode(),
            "predictions.csv",
            "text/csv",
            on_click="ignore",
        )
