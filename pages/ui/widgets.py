"""Small pieces of layout shared by the pages: names, warnings, answers, Grad-CAM pairs."""

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from core import wording
from core.data.dataset import CLASS_NAMES, CLASS_TITLES, PROBABILITY_COLUMNS
from core.data.provenance import Box
from core.evaluation import compare, verdict
from core.serving.gradcam import METHODS
from core.serving.ood import Flag
from core.serving.predict import NOT_RECOGNISED, TOO_SMALL, confidence_text, refusal
from pages.ui import loaders

OPACITY = 0.4  # the CAM overlays' opacity until the user moves a slider


def title(name: str) -> str:
    """A model's name in its colour, as Markdown."""
    return f":{loaders.architecture(name).badge}[**{loaders.titles()[name]}**]"


def short_name(name: str) -> str:
    return loaders.architecture(name).short_name


def class_title(name: str) -> str:
    return CLASS_TITLES[name]


def choose_one(label: str, options: list[str], format_func=str, key: str | None = None) -> str:
    """A segmented control that always holds one of `options`, the first to begin with."""
    return st.segmented_control(
        label, options, default=options[0], required=True, format_func=format_func, key=key
    )


def verdict_table(found: verdict.Verdict) -> None:
    """The accuracy verdict's table (core.evaluation.verdict.table), with short names so it fits."""
    short = {name: short_name(name) for name in found.names}
    st.dataframe(
        verdict.table(found, short),
        hide_index=True,
        column_config=number_columns({"images": "localized"}, percent=tuple(short.values())),
    )


def number_columns(formats: dict[str, str] | None = None, percent: tuple[str, ...] = ()) -> dict:
    """st.dataframe's column_config: each column of `formats` in its format, those of `percent` as
    percentages."""
    formats = (formats or {}) | dict.fromkeys(percent, "percent")
    return {column: st.column_config.NumberColumn(format=shown) for column, shown in formats.items()}


def warn_if_foreign(found: dict[str, Flag]) -> None:
    """The visible warning for an upload some model's guard flagged (loaders.foreign_warnings)."""
    reasons = wording.grouped({loaders.titles()[name]: flag.reason for name, flag in found.items()})
    if refusal(found.values()) == NOT_RECOGNISED:
        st.warning(
            "**This does not look like the brain MRI slices the models learned from**, so a tumor "
            f"label would mean nothing here ({reasons}).",
            icon=":material/warning:",
        )
    elif found:
        st.warning(
            f"**{TOO_SMALL}**: this image is smaller than a model's input, so it was enlarged, and "
            "an enlarged scan can look unlike the training images to the guard whatever it shows "
            f"({reasons}). Upload the scan at its original size.",
            icon=":material/warning:",
        )


def _marked_answer(name: str, label: str, true_label: str, confidence: str) -> str:
    mark = "✓" if label == true_label else "✗"
    return f"{mark} {short_name(name)}: {class_title(label)} {confidence}"


def answers(cases: pd.DataFrame, name: str) -> list[str]:
    """One model's answer on each row of loaders.joined_predictions: "✓ MobileNetV2: Glioma 97.1%",
    its confidence calibrated (as joined_predictions holds it), as answers are shown everywhere."""
    probabilities = cases[[f"{name}_{column}" for column in PROBABILITY_COLUMNS]].to_numpy(float)
    return [
        _marked_answer(name, label, truth, confidence_text(shown))
        for label, truth, shown in zip(cases[f"{name}_label"], cases["true_label"], probabilities)
    ]


def shown_probabilities(images: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Each model's probabilities for its input image as shown with its answer: from the copy that
    serves it (int8 where that serves), divided by its validation temperature (loaders.predictor).

    Args:
        images: model name -> (S, S, 3) uint8 at that model's input size.
    """
    return {name: loaders.predictor(name).probabilities(image[None])[0] for name, image in images.items()}


def served_answer(name: str, probabilities: np.ndarray, true_label: str) -> str:
    """One model's answer from shown_probabilities, marked against the truth: "✓ MobileNetV2: Glioma
    97.1%", the same number its bar carries."""
    label = CLASS_NAMES[int(probabilities.argmax())]
    return _marked_answer(name, label, true_label, confidence_text(probabilities))


def temperatures(names: list[str]) -> str:
    """Each model's validation temperature, "MobileNetV2 T = 0.74 and CNN T = 0.39" ("raw" without one)."""
    from core.wording import listed

    found = {short_name(name): loaders.temperature(name) for name in names}
    return listed([f"{model} raw" if t is None else f"{model} T = {t:.2f}" for model, t in found.items()])


def calibration_note(names: list[str]) -> str:
    """How the shown confidences are made: each model's validation temperature."""
    return (
        "Confidences are calibrated on the validation split: each model's probabilities are "
        f"temperature-scaled ({temperatures(names)}), which keeps its answer and changes only how sure "
        "it says it is (Calibration page)."
    )


def case_table(cases: pd.DataFrame) -> None:
    """Test images (rows of compare.joined_predictions) as a table with titled, formatted columns."""
    table = compare.case_table(cases, loaders.model_names(), loaders.titles())
    confidences = [column for column in table.columns if "confidence" in column]
    st.dataframe(table, hide_index=True, column_config=number_columns(percent=tuple(confidences)))


def probability_chart(figure: go.Figure, refused: str | None) -> None:
    """The models' probabilities; tucked away, and said not to be trusted, for a refused image."""
    if refused:
        with st.expander("The models' answers anyway (not to be trusted here)"):
            st.plotly_chart(figure, width="stretch")
    else:
        st.plotly_chart(figure, width="stretch")
    if note := served_copy_note():
        st.caption(note)


def served_copy_note() -> str | None:
    """Which models predict here with their int8 copy, whose probabilities differ a little from the
    evaluation's (the other pages' figures); None where every model predicts in float32."""
    from core.wording import listed

    benchmark = (loaders.optional(loaders.benchmark) or {}).get("models", {})
    quantized = [name for name in loaders.model_names() if loaders.predictor(name).backend == "LiteRT int8"]
    if not quantized:
        return None
    changed = [
        f"{short_name(name)} {benchmark[name]['test_accuracy']['labels_changed']} of "
        f"{benchmark[name]['test_accuracy']['n_images']:,}"
        for name in quantized
        if "test_accuracy" in benchmark.get(name, {})
    ]
    return (
        f"{listed([short_name(name) for name in quantized])} predicts here with its int8 copy (faster, see "
        "Efficiency), so its probabilities differ a little from those of the evaluation, which the "
        "other pages show; its temperature, fitted on the float32 model's validation answers, scales "
        "them" + (f"; test labels changed: {listed(changed)}." if changed else ".")
    )


def heatmaps(
    images: dict[str, np.ndarray], wanted: list[tuple[str, int]], method: str
) -> dict[tuple[str, int], np.ndarray]:
    """The CAMs of (model, class index) pairs for each model's input image, with a progress bar.

    Args:
        images: model name -> (S, S, 3) uint8 at that model's input size.
    """
    cams = {}
    progress = st.progress(0.0, text=f"{method}…")
    for done, (name, index) in enumerate(wanted):
        cams[name, index] = loaders.heatmap(name, images[name], index, method)
        progress.progress((done + 1) / len(wanted), text=f"{method}: {done + 1} of {len(wanted)} maps")
    progress.empty()
    return cams


def file_gradcam(data: bytes, file: str, names: list[str]) -> None:
    """Grad-CAM++ of the models `names` on a file from a folder, refused as an upload of it would be.

    Raises:
        ImageError: the file is not a usable image.
    """
    inputs = loaders.upload_inputs(data, file)
    refused = refusal(loaders.foreign_warnings({name: inputs[name] for name in names}).values())
    gradcam_pair({name: inputs[name].pixels for name in names}, "Grad-CAM++", OPACITY, refused=refused)


def gradcam_pair(
    images: dict[str, np.ndarray],
    method: str,
    opacity: float,
    box: Box | None = None,
    refused: str | None = None,
    bars: bool = True,
) -> None:
    """For each model: its input image, the CAM overlay for its predicted class, probabilities.

    Args:
        images: model name -> (S, S, 3) uint8 at that model's input size.
        box: the tumour's box, drawn on both pictures, with how the map scores against it.
        refused: what Live prediction shows instead of a class for this image (core.serving.predict.refusal
            of the guard's flags), or None. Not recognised: no maps, as they would explain a class that
            means nothing here; too small: the maps are drawn, the label is not given.
        bars: end with the probabilities' bar chart (off where the page shows it already).
    """
    from core.report.figures import cam_colour_bar, probability_bars
    from core.serving.gradcam import NO_MAPS, overlay
    from core.serving.predict import shown_label
    from core.studies import localisation

    if refused == NOT_RECOGNISED:  # a map would explain a class that means nothing here
        st.info(NO_MAPS)
        if bars:
            for name in images:
                st.markdown(f"{title(name)} → **{refused}**")
            probability_chart(probability_bars(shown_probabilities(images), loaders.titles()), refused)
        return
    probabilities = shown_probabilities(images)
    cams = heatmaps(images, [(name, int(probs.argmax())) for name, probs in probabilities.items()], method)
    for column, (name, image) in zip(st.columns(len(images)), images.items()):
        probs, cam = probabilities[name], cams[name, int(probabilities[name].argmax())]
        with column:
            confidence = "" if refused else f" ({confidence_text(probs)})"
            st.markdown(f"{title(name)} → **{refused or shown_label(probs, foreign=False)}**{confidence}")
            left, right = st.columns(2)
            shown = overlay(image, cam, opacity)
            if box is not None:
                image, shown = localisation.draw_box(image, box), localisation.draw_box(shown, box)
            left.image(image, caption="input", width="stretch")
            right.image(shown, caption=f"{method}", width="stretch")
            if box is not None:
                st.caption(f"Tumour box: {localisation.describe(localisation.score(cam, box))}.")
            if cam.max() <= 0:
                others = " or ".join(other for other in METHODS if other != method)
                st.caption(
                    f":orange[{method} is empty here: no region raises this class's score "
                    f"by its measure. Try {others}.]"
                )
    st.plotly_chart(cam_colour_bar(), width="stretch", config={"displayModeBar": False})
    if bars:
        probability_chart(probability_bars(probabilities, loaders.titles()), refused)
