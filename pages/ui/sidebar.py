"""The sidebar: which test images (full set or clean subset) and where the dataset is."""

from pathlib import Path

import streamlit as st

from core import paths
from core.artifacts import ArtifactError
from core.data import release, subsets
from core.data.dataset import TEST_SPLIT, DatasetError
from pages.ui import loaders

DATA_KEY = "data_dir"
SUBSET_KEY = "test_subset"  # the Full test set / Clean subset switch


def subset_switch() -> None:
    """Switch between the full test set and the clean subset (needs the leakage audit)."""
    if not loaders.model_names():
        return
    clean = loaders.optional(loaders.clean_paths)
    try:
        n_images = loaders.n_test_images()
    except ArtifactError as error:  # the pages that need the metrics say so; the others still work
        st.sidebar.warning(str(error))
        return
    counts = {subsets.FULL: n_images, subsets.CLEAN: len(clean) if clean else 0}
    st.sidebar.radio(
        "Test images",
        list(counts) if clean else [subsets.FULL],
        format_func=lambda choice: f"{choice} ({counts[choice]:,})",
        key=SUBSET_KEY,
        help="The clean subset leaves out the test images that have a near duplicate in Training "
        "(see Leakage audit). Every metric, matrix and list follows this switch.",
    )


def subset() -> str:
    """The test images the user chose: subsets.FULL or subsets.CLEAN."""
    return st.session_state.get(SUBSET_KEY) or subsets.FULL


def subset_caption() -> str:
    """What the chosen test images are, with their count, for the top of a page."""
    n_images = loaders.n_test_images()
    source = f"the Kaggle dataset's Testing split, {release.describe(n_images)}"
    if subset() == subsets.CLEAN:
        return (
            f"**Clean subset**: the {len(loaders.clean_paths()):,} of {n_images:,} test images ({source}) "
            "with no near duplicate in Training."
        )
    return f"**Full test set**: all {n_images:,} test images ({source})."


@st.cache_data(show_spinner=False)
def _inspect(folder: str) -> release.Folder | None:
    try:
        return release.read_folder(Path(folder))
    except (DatasetError, OSError):
        return None


def dataset_field() -> None:
    """The dataset folder (defaults to --data / $BRAIN_MRI_DATA / data/) and what it holds."""
    with st.sidebar:
        st.text_input(
            "Dataset folder",
            value=paths.shown(paths.data_dir()),
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


def _folder() -> Path:
    """The sidebar's dataset folder; a relative one is taken from the project folder."""
    folder = Path(st.session_state.get(DATA_KEY) or paths.data_dir()).expanduser()
    return folder if folder.is_absolute() else paths.ROOT / folder


def dataset_dir() -> Path | None:
    """The dataset folder if it holds the very test set the artifacts were evaluated on, else None."""
    found, names = _inspect(str(_folder())), loaders.model_names()
    if found is None or not names:
        return None
    metrics = loaders.optional(lambda: loaders.metrics(names[0]))  # damaged: its pages say so
    if metrics is None or found.test_fingerprint != metrics.test_fingerprint:
        return None
    return _folder()


def require_dataset() -> Path | None:
    """The dataset folder, or None after telling the user how to provide it."""
    folder = dataset_dir()
    if folder is None:
        st.info(
            "This view shows test images, and the dataset the models were evaluated on was not "
            f"found. Download the Kaggle *Brain Tumor MRI Dataset* "
            f"({release.describe(loaders.n_test_images())}), then enter its folder in the sidebar "
            f"or start the app with `{paths.DATA_ENV_VAR}=/path/to/brain-tumor-mri make run`."
        )
    return folder
