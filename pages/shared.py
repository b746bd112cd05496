"""Cached loaders and small UI pieces shared by the pages. All computation lives in core/."""

import runpy
from pathlib import Path

import numpy as np
import pandas as pd
import streamlit as st

from core import artifacts, compare, paths
from core.config import ModelConfig
from core.data import CLASS_NAMES, CLASS_TITLES, TEST_SPLIT, ImageError, decode_image

DATA_KEY = "data_dir"
APP_KEY = "app_navigation"  # set by streamlit_app.py on every run
IMAGE_TYPES = ["jpg", "jpeg", "png", "bmp"]
BADGE_COLORS = {"mobilenetv2": "blue", "custom_cnn": "orange"}  # Streamlit's names for MODEL_COLORS
SHORT_NAMES = {"mobilenetv2": "MobileNetV2", "custom_cnn": "CNN"}  # where space is short


# ---- Artifacts (tables cached as data, models and explainers as resources) ----


@st.cache_data
def model_names() -> list[str]:
    return artifacts.available_models()


@st.cache_data
def config(name: str) -> ModelConfig:
    return artifacts.load_config(name)


@st.cache_data
def titles() -> dict[str, str]:
    return {name: config(name).display_name for name in model_names()}


@st.cache_data
def metrics(name: str) -> dict:
    return artifacts.load_metrics(name)


@st.cache_data
def manifest(name: str) -> dict:
    return artifacts.load_manifest(name)


@st.cache_data
def history(name: str) -> dict:
    return artifacts.load_history(name)


@st.cache_data
def predictions(name: str) -> pd.DataFrame:
    return artifacts.load_predictions(name)


@st.cache_data
def leakage_audit() -> dict | None:
    """The dataset's leakage audit, or None if artifacts/ has none."""
    try:
        return artifacts.load_audit()
    except artifacts.ArtifactError:
        return None


@st.cache_data
def _joined_predictions() -> pd.DataFrame:
    return compare.joined_predictions({name: predictions(name) for name in model_names()})


def joined_predictions() -> pd.DataFrame:
    """Both models' test predictions side by side; stops the page if they do not match."""
    try:
        return _joined_predictions()
    except ValueError as error:
        st.error(str(error))
        st.stop()


@st.cache_resource(show_spinner="Loading model…")
def predictor(name: str):
    from core.predict import Predictor

    return Predictor(artifacts.load_model(name), config(name))


@st.cache_resource(show_spinner="Building explainer…")
def explainer(name: str):
    from core.gradcam import Explainer
    from core.models import last_conv_layer

    return Explainer(predictor(name).model, last_conv_layer(config(name)))


@st.cache_data(show_spinner=False, max_entries=64)
def heatmap(name: str, image: np.ndarray, class_index: int, method: str) -> np.ndarray:
    """A CAM, cached so moving the opacity slider does not recompute it."""
    return explainer(name).heatmap(image, class_index, method)


@st.cache_data(show_spinner=False)
def test_image(data_dir: str, relpath: str, size: int) -> np.ndarray:
    return decode_image(Path(data_dir) / relpath, size, name=relpath)


def upload_inputs(data: bytes, name: str) -> dict[str, np.ndarray]:
    """An uploaded file decoded at each model's input size. Raises ImageError."""
    return {n: decode_image(data, config(n).image_size, name=name) for n in model_names()}


def test_inputs(folder: Path, relpath: str) -> dict[str, np.ndarray]:
    """A test image decoded at each model's input size. Raises ImageError."""
    return {n: test_image(str(folder), relpath, config(n).image_size) for n in model_names()}


# ---- Layout helpers ----


def title(name: str) -> str:
    """A model's name in its colour, as Markdown."""
    return f":{BADGE_COLORS.get(name, 'gray')}[**{titles()[name]}**]"


def class_title(name: str) -> str:
    return CLASS_TITLES[name]


def require_models() -> list[str]:
    """Every page starts here: the shipped models' names, or a message and a stop if none."""
    _run_through_app()
    names = model_names()
    if not names:
        st.error("No trained models in artifacts/. Train them with `python -m core.train --model all`.")
        st.stop()
    return names


def _run_through_app() -> None:
    """Serve this page through streamlit_app.py if Streamlit started it on its own.

    A server with a pages/ folder runs a deep link such as /predict as the bare page script
    (Streamlit's older multipage mode) until some session has called st.navigation: the page
    would come without the app's navigation, layout and sidebar.
    """
    if not st.session_state.get(APP_KEY):
        runpy.run_path(str(paths.ROOT / "streamlit_app.py"))
        st.stop()


def dataset_sidebar() -> None:
    """Sidebar field for the dataset folder (defaults to --data / $BRAIN_MRI_DATA / data/)."""
    with st.sidebar:
        st.text_input(
            "Dataset folder",
            value=str(paths.data_dir()),
            key=DATA_KEY,
            help=f"The Kaggle Brain Tumor MRI Dataset (with {TEST_SPLIT}/). "
            f"Also set by ${paths.DATA_ENV_VAR}.",
        )
        if dataset_dir():
            st.caption(":green[●] test images found")
        else:
            st.caption(":gray[●] no test images there: image views are off")


def dataset_dir() -> Path | None:
    folder = Path(st.session_state.get(DATA_KEY) or paths.data_dir()).expanduser()
    return folder if (folder / TEST_SPLIT).is_dir() else None


def require_dataset() -> Path | None:
    """The dataset folder, or None after telling the user how to provide it."""
    folder = dataset_dir()
    if folder is None:
        st.info(
            "This view shows test images, and the dataset was not found. Download the Kaggle "
            "*Brain Tumor MRI Dataset*, then enter its folder in the sidebar or start the app "
            f"with `{paths.DATA_ENV_VAR}=/path/to/brain-tumor-mri make run`."
        )
    return folder


def probabilities_caption(row: pd.Series, name: str) -> str:
    label = row[f"{name}_label"]
    mark = "✓" if label == row["true_label"] else "✗"
    return f"{mark} {SHORT_NAMES.get(name, name)}: {class_title(label)} {row[f'{name}_confidence']:.0%}"


def case_gallery(cases: pd.DataFrame, limit: int = 24, columns: int = 6) -> None:
    """Thumbnails of test images with the true class and each model's answer."""
    folder = require_dataset()
    if folder is None or cases.empty:
        return
    shown = cases.head(limit)
    if len(cases) > limit:
        st.caption(f"Showing the first {limit} of {len(cases)} images.")
    grid = st.columns(columns)
    for i, (_, row) in enumerate(shown.iterrows()):
        with grid[i % columns]:
            try:
                st.image(test_image(str(folder), row["path"], 160))
            except ImageError as error:
                st.warning(str(error))
                continue
            lines = [f"**{class_title(row['true_label'])}** · {Path(row['path']).stem}"]
            lines += [probabilities_caption(row, name) for name in model_names()]
            st.caption("  \n".join(lines))


def gradcam_pair(images: dict[str, np.ndarray], method: str, opacity: float) -> None:
    """For each model: its input image, the CAM overlay for its predicted class, probabilities.

    Args:
        images: model name -> (S, S, 3) uint8 at that model's input size.
    """
    from core.figures import probability_bars
    from core.gradcam import overlay

    columns = st.columns(len(images))
    probabilities = {}
    for column, (name, image) in zip(columns, images.items()):
        probs = predictor(name).probabilities(image[None])[0]
        probabilities[name] = probs
        predicted = int(probs.argmax())
        with column:
            st.markdown(f"{title(name)} → **{class_title(CLASS_NAMES[predicted])}** ({probs.max():.1%})")
            with st.spinner(f"{method}…"):
                cam = heatmap(name, image, predicted, method)
            left, right = st.columns(2)
            left.image(image, caption="input", width="stretch")
            right.image(overlay(image, cam, opacity), caption=f"{method}", width="stretch")
            if cam.max() <= 0:
                st.caption(
                    f":orange[{method} is empty here: no region raises this class's score "
                    "by its measure. Try Grad-CAM++ or ScoreCAM.]"
                )
    st.plotly_chart(probability_bars(probabilities, titles()), width="stretch")
