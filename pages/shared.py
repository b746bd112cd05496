"""Cached loaders and small UI pieces shared by the pages. All computation lives in core/."""

import runpy
from pathlib import Path

import numpy as np
import pandas as pd
import streamlit as st

from core import artifacts, audit, calibration, compare, paths, release
from core.config import ModelConfig
from core.data import CLASS_NAMES, CLASS_TITLES, TEST_SPLIT, DatasetError, ImageError, decode_image
from core.evaluate import metrics_from_predictions

DATA_KEY = "data_dir"
SUBSET_KEY = "test_subset"  # the sidebar's Full test set / Clean subset switch
APP_KEY = "app_navigation"  # set by streamlit_app.py on every run
IMAGE_TYPES = ["jpg", "jpeg", "png", "bmp", "dcm"]
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
def benchmark(file: str = artifacts.BENCHMARK_FILE) -> dict | None:
    """A benchmark's results (inference by default, see artifacts.BENCHMARKS), or None if absent."""
    try:
        return artifacts.load_benchmark(file=file)
    except artifacts.ArtifactError:
        return None


@st.cache_data
def validation_predictions(name: str) -> pd.DataFrame:
    return artifacts.load_predictions(name, split="validation")


@st.cache_data
def clean_paths() -> frozenset[str] | None:
    """The clean subset's test images, or None without an audit."""
    result = leakage_audit()
    return frozenset(audit.clean_test_paths(result)) if result else None


def subset() -> str:
    """The test images the user chose in the sidebar: compare.FULL or compare.CLEAN."""
    return st.session_state.get(SUBSET_KEY) or compare.FULL


def _paths(subset: str) -> frozenset[str] | None:
    return clean_paths() if subset == compare.CLEAN else None


@st.cache_data
def subset_predictions(name: str, subset: str) -> pd.DataFrame:
    return compare.restrict(predictions(name), _paths(subset))


@st.cache_data
def subset_metrics(name: str, subset: str) -> dict:
    """classification_metrics of one model on the chosen test images."""
    if subset == compare.FULL:  # evaluation wrote them: no need to import scikit-learn yet
        return metrics(name)
    return metrics_from_predictions(subset_predictions(name, subset))


@st.cache_data
def _joined_predictions(subset: str) -> pd.DataFrame:
    fingerprints = {name: metrics(name).get("test_fingerprint") for name in model_names()}
    if len(set(fingerprints.values())) > 1:
        raise ValueError(f"the models were evaluated on different test sets {fingerprints}; re-evaluate them")
    joined = compare.joined_predictions({name: predictions(name) for name in model_names()})
    return compare.restrict(joined, _paths(subset))


def joined_predictions(subset: str = compare.FULL) -> pd.DataFrame:
    """Both models' test predictions side by side; stops the page if they do not match."""
    try:
        return _joined_predictions(subset)
    except ValueError as error:
        st.error(str(error))
        st.stop()


@st.cache_data(show_spinner="Bootstrapping…")
def paired_summary(subset: str) -> dict:
    return compare.paired_summary(joined_predictions(subset), model_names()[:2])


@st.cache_data
def calibration_report(name: str, subset: str) -> dict:
    """Temperature from the validation split; the chosen test images before and after it."""
    return calibration.report(validation_predictions(name), subset_predictions(name, subset))


@st.cache_resource(show_spinner="Loading model…")
def predictor(name: str):
    from core.predict import Predictor

    return Predictor.from_artifacts(name)  # LiteRT if its .tflite loads, else Keras


@st.cache_resource(show_spinner="Building explainer…")
def explainer(name: str):
    from core.gradcam import Explainer
    from core.models import last_conv_layer

    return Explainer(predictor(name).model, last_conv_layer(config(name)))


@st.cache_resource(show_spinner="Loading the out-of-distribution guard…")
def checker(name: str):
    from core.ood import Checker, load_guard

    return Checker(predictor(name).model, config(name).architecture, load_guard(name))


def foreign_warnings(images: dict[str, np.ndarray]) -> dict[str, str]:
    """For an upload at each model's size: the models that find it unlike their training data."""
    found = {}
    for name, image in images.items():
        message = checker(name).warning(float(checker(name).scores(image[None])[0]))
        if message:
            found[name] = message
    return found


def warn_if_foreign(found: dict[str, str]) -> None:
    """The visible warning for an upload some model's guard flagged (foreign_warnings)."""
    if found:
        reasons = "; ".join(f"{SHORT_NAMES.get(name, name)}: {message}" for name, message in found.items())
        st.warning(
            "**This does not look like the brain MRI slices the models learned from**, so a tumor "
            f"label would mean nothing here ({reasons}).",
            icon=":material/warning:",
        )


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


def subset_sidebar() -> None:
    """Sidebar switch between the full test set and the clean subset (needs the leakage audit)."""
    names, clean = model_names(), clean_paths()
    if not names:
        return
    n_images = metrics(names[0])["n_images"]
    counts = {compare.FULL: n_images, compare.CLEAN: len(clean) if clean else 0}
    st.sidebar.radio(
        "Test images",
        list(counts) if clean else [compare.FULL],
        format_func=lambda choice: f"{choice} ({counts[choice]:,})",
        key=SUBSET_KEY,
        help="The clean subset leaves out the test images that have a near duplicate in Training "
        "(see Leakage audit). Every metric, matrix and list follows this switch.",
    )


def subset_caption() -> str:
    """What the chosen test images are, with their count, for the top of a page."""
    n_images = metrics(model_names()[0])["n_images"]
    source = f"the Kaggle dataset's Testing split, {release.describe(n_images)}"
    if subset() == compare.CLEAN:
        return (
            f"**Clean subset**: the {len(clean_paths()):,} of {n_images:,} test images ({source}) "
            "with no near duplicate in Training."
        )
    return f"**Full test set**: all {n_images:,} test images ({source})."


@st.cache_data(show_spinner=False)
def _inspect(folder: str) -> release.Folder | None:
    try:
        return release.inspect(Path(folder))
    except (DatasetError, OSError):
        return None


def dataset_sidebar() -> None:
    """Sidebar field for the dataset folder (defaults to --data / $BRAIN_MRI_DATA / data/)."""
    with st.sidebar:
        st.text_input(
            "Dataset folder",
            value=_shown(paths.data_dir()),
            key=DATA_KEY,
            help=f"The Kaggle Brain Tumor MRI Dataset (with {TEST_SPLIT}/). "
            f"Also set by ${paths.DATA_ENV_VAR}.",
        )
        found = _inspect(str(_folder()))
        if found is None:
            st.caption(":gray[●] no test images there: image views are off")
        elif dataset_dir() is None:
            st.caption(
                f":orange[●] {found.test_images:,} test images ({found.release}), not the test set "
                "the models were evaluated on: its images are not shown next to these results."
            )
        else:
            st.caption(
                f":green[●] {found.test_images:,} test images ({found.release}): the test set the "
                "models were evaluated on"
            )


def _shown(folder: Path) -> str:
    """A folder as the sidebar shows it: relative to the project when inside it."""
    return str(folder.relative_to(paths.ROOT)) if folder.is_relative_to(paths.ROOT) else str(folder)


def _folder() -> Path:
    """The sidebar's dataset folder; a relative one is taken from the project folder."""
    folder = Path(st.session_state.get(DATA_KEY) or paths.data_dir()).expanduser()
    return folder if folder.is_absolute() else paths.ROOT / folder


def dataset_dir() -> Path | None:
    """The dataset folder if it holds the very test set the artifacts were evaluated on, else None."""
    found, names = _inspect(str(_folder())), model_names()
    if found is None or not names or found.test_fingerprint != metrics(names[0]).get("test_fingerprint"):
        return None
    return _folder()


def require_dataset() -> Path | None:
    """The dataset folder, or None after telling the user how to provide it."""
    folder = dataset_dir()
    if folder is None:
        st.info(
            "This view shows test images, and the dataset the models were evaluated on was not "
            "found. Download the Kaggle *Brain Tumor MRI Dataset* (the 7,023-image release), then "
            "enter its folder in the sidebar or start the app with "
            f"`{paths.DATA_ENV_VAR}=/path/to/brain-tumor-mri make run`."
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
