"""Small pieces of layout shared by the pages: names, warnings, galleries, Grad-CAM pairs."""

from pathlib import Path

import numpy as np
import pandas as pd
import streamlit as st

from core.data import CLASS_TITLES
from core.gradcam import METHODS
from core.imagefile import ImageError
from core.ood import Flag
from core.predict import NOT_RECOGNISED, TOO_SMALL, verdict
from core.provenance import Box
from pages.ui import loaders, sidebar


def title(name: str) -> str:
    """A model's name in its colour, as Markdown."""
    return f":{loaders.architecture(name).badge}[**{loaders.titles()[name]}**]"


def short_name(name: str) -> str:
    return loaders.architecture(name).short_name


def class_title(name: str) -> str:
    return CLASS_TITLES[name]


def number_columns(formats: dict[str, str] | None = None, percent: tuple[str, ...] = ()) -> dict:
    """st.dataframe's column_config: each column of `formats` in its format, those of `percent` as
    percentages."""
    formats = (formats or {}) | dict.fromkeys(percent, "percent")
    return {column: st.column_config.NumberColumn(format=shown) for column, shown in formats.items()}


def warn_if_foreign(found: dict[str, Flag]) -> None:
    """The visible warning for an upload some model's guard flagged (loaders.foreign_warnings)."""
    reasons = "; ".join(f"{short_name(name)}: {flag.reason}" for name, flag in found.items())
    if verdict(found.values()) == NOT_RECOGNISED:
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


def _answer(row: pd.Series, name: str) -> str:
    label = row[f"{name}_label"]
    mark = "✓" if label == row["true_label"] else "✗"
    return f"{mark} {short_name(name)}: {class_title(label)} {row[f'{name}_confidence']:.0%}"


def case_gallery(cases: pd.DataFrame, limit: int = 24, columns: int = 6) -> None:
    """Thumbnails of test images with the true class and each model's answer."""
    folder = sidebar.require_dataset()
    if folder is None or cases.empty:
        return
    if len(cases) > limit:
        st.caption(f"Showing the first {limit} of {len(cases)} images.")
    grid = st.columns(columns)
    for i, (_, row) in enumerate(cases.head(limit).iterrows()):
        with grid[i % columns]:
            try:
                st.image(loaders.test_image(str(folder), row["path"], 160))
            except ImageError as error:
                st.warning(str(error))
                continue
            lines = [f"**{class_title(row['true_label'])}** · {Path(row['path']).stem}"]
            lines += [_answer(row, name) for name in loaders.model_names()]
            st.caption("  \n".join(lines))


def gradcam_pair(images: dict[str, np.ndarray], method: str, opacity: float, box: Box | None = None) -> None:
    """For each model: its input image, the CAM overlay for its predicted class, probabilities.

    Args:
        images: model name -> (S, S, 3) uint8 at that model's input size.
        box: the tumour's box, drawn on both pictures, with how the map scores against it.
    """
    from core import localisation
    from core.figures import probability_bars
    from core.gradcam import overlay
    from core.predict import shown_label

    columns = st.columns(len(images))
    probabilities = {}
    for column, (name, image) in zip(columns, images.items()):
        probs = probabilities[name] = loaders.predictor(name).probabilities(image[None])[0]
        predicted = int(probs.argmax())
        with column:
            st.markdown(f"{title(name)} → **{shown_label(probs, foreign=False)}** ({probs.max():.1%})")
            with st.spinner(f"{method}…"):
                cam = loaders.heatmap(name, image, predicted, method)
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
    st.plotly_chart(probability_bars(probabilities, loaders.titles()), width="stretch")
