"""Thumbnail galleries that page through every match, each thumbnail opening the image's detail view
in a dialog over the gallery: the same session, so the sidebar's dataset folder and test subset and
the gallery's own filters stay as they were.

A gallery's images are remembered as a *selection* under a short id, stepped through with previous/
next in the dialog and carried by the detail view's link (`image?path=...&sel=...`), so a link
shared while the app runs steps through the same images.
"""

import base64
import hashlib
import io
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import pandas as pd
import streamlit as st
from PIL import Image

from core.data.imagefile import ImageError
from pages.ui import detail, loaders, sidebar, widgets

DETAIL_PAGE = "image"  # pages/image.py's URL path
PER_PAGE, COLUMNS = 24, 6
KEPT_SELECTIONS = 512  # the selections a running app remembers, newest kept
OPENED = "detail_path"  # the test image the detail dialog shows; previous/next change it


@dataclass(frozen=True)
class Selection:
    """The images a gallery showed, in its order, and what they are."""

    title: str
    paths: tuple[str, ...]


@st.cache_resource
def _selections() -> "OrderedDict[str, Selection]":
    return OrderedDict()  # shared by every session of this app


def remember(title: str, paths: list[str]) -> str:
    """Keep a gallery's images as a selection; returns its id (the same for the same images)."""
    key = hashlib.sha1("\n".join([title, *paths]).encode()).hexdigest()[:10]
    kept = _selections()
    kept[key] = Selection(title, tuple(paths))
    kept.move_to_end(key)
    while len(kept) > KEPT_SELECTIONS:
        kept.popitem(last=False)
    return key


def recall(key: str | None) -> Selection | None:
    """A remembered selection, or None (unknown id, or one the app has forgotten since)."""
    return _selections().get(key) if key else None


def detail_link(path: str, selection: str | None = None) -> str:
    """The detail view of one test image, as a link relative to the app's pages."""
    return f"{DETAIL_PAGE}?{urlencode({'path': path} | ({'sel': selection} if selection else {}))}"


@st.dialog("Image detail", width="large")
def _detail_dialog(folder: Path, selection: str | None) -> None:
    def go_to(other: str) -> None:  # previous/next rerun the dialog alone, on this path
        st.session_state[OPENED] = other

    path = st.session_state[OPENED]
    detail.show(folder, path, recall(selection), detail_link(path, selection), go_to)


def open_button(folder: Path, path: str, selection: str | None, key: str, label: str | None = None) -> None:
    """A button that opens a test image's detail view in a dialog over this page.

    Args:
        folder: the dataset folder (sidebar.require_dataset).
        path: the test image.
        selection: the id of the gallery it is in (remember), for previous/next; or None.
        key: the button's widget key, unique on its page.
        label: the button's text; the image's name if None.
    """
    if st.button(
        label or Path(path).stem, key=key, icon=":material/open_in_full:", width="stretch",
        help="Its detail view: each model's answer and maps, its nearest training image",
    ):  # fmt: skip
        st.session_state[OPENED] = path
        _detail_dialog(folder, selection)


def thumbnail(folder: Path, path: str, selection: str | None, size: int, key: str) -> bool:
    """A test image's thumbnail, with a button under it that opens its detail view over this page.

    Returns:
        Whether it was drawn (else a warning says why not).
    """
    try:
        image = loaders.test_image(str(folder), path, size)
    except ImageError as error:
        st.warning(str(error))
        return False
    st.image(image, alt=f"test image {Path(path).stem}")
    open_button(folder, path, selection, f"{key}_open_{path}")
    return True


def page_start(total: int, key: str, per_page: int = PER_PAGE) -> int:
    """A page picker for a gallery of `total` items, shown if they fill more than a page; returns
    the index of the first item of the page picked."""
    pages = -(-total // per_page)
    if pages <= 1:
        return 0
    page = st.number_input(f"Page (of {pages}, {per_page} each)", 1, pages, 1, key=f"{key}_page", width=220)
    return (page - 1) * per_page


def case_gallery(cases: pd.DataFrame, title: str, key: str) -> None:
    """Thumbnails of test images, a page at a time, with the true class and each model's answer.

    Args:
        cases: rows of compare.joined_predictions (path, true_label, each model's answer).
        title: what these images are, shown in the detail view ("Only MobileNetV2 wrong").
        key: the gallery's widget key, unique on its page.
    """
    folder = sidebar.require_dataset()
    if folder is None or cases.empty:
        return
    selection = remember(title, cases["path"].tolist())
    start = page_start(len(cases), key)
    shown = cases.iloc[start : start + PER_PAGE]
    st.caption(
        f"Images {start + 1}–{start + len(shown)} of {len(cases)}. Click a name under an image for its "
        "detail view, opened over this page: previous and next step through these images."
    )
    grid = st.columns(COLUMNS)
    answers = [widgets.answers(shown, name) for name in loaders.model_names()]
    for i, (_, row) in enumerate(shown.iterrows()):
        with grid[i % COLUMNS]:
            if not thumbnail(folder, row["path"], selection, 160, key):
                continue
            lines = [f"**{widgets.class_title(row['true_label'])}**", *(model[i] for model in answers)]
            st.caption("  \n".join(lines))


THUMBNAIL = 64  # the picker's thumbnails, in pixels


@st.cache_data(show_spinner=False, max_entries=4096)
def _thumbnail_uri(data_dir: str, path: str) -> str:
    """A test image as a small PNG data URI, for a table's image column."""
    buffer = io.BytesIO()
    Image.fromarray(loaders.test_image(data_dir, path, THUMBNAIL)).save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def picker(cases: pd.DataFrame, key: str, chosen: str | None) -> str | None:
    """A table of thumbnails to pick one test image from: a click on any cell of a row picks it, and
    the arrow keys move the pick up and down (a cell selection: a row selection takes neither).

    Args:
        cases: rows of compare.joined_predictions to choose from.
        key: the table's widget key; a new key (another list) starts with `chosen` selected.
        chosen: the image picked before, kept selected where the list holds it.

    Returns:
        The picked image's path: the selected cell's row, else `chosen` (also where a click on the
        selected cell cleared it), else None.
    """
    folder = sidebar.require_dataset()
    if folder is None or cases.empty:
        return chosen
    paths = cases["path"].tolist()
    table = pd.DataFrame(
        {
            "image": [_thumbnail_uri(str(folder), path) for path in paths],
            "name": [Path(path).stem for path in paths],
            "true class": cases["true_label"].map(widgets.class_title).tolist(),
        }
        | {loaders.titles()[name]: widgets.answers(cases, name) for name in loaders.model_names()}
    )  # fmt: skip
    event = st.dataframe(
        table,
        hide_index=True,
        key=key,
        on_select="rerun",
        selection_mode="single-cell",
        selection_default={"selection": {"cells": [(paths.index(chosen), "name")]}}
        if chosen in paths
        else None,
        row_height=THUMBNAIL + 4,
        height=6 * (THUMBNAIL + 4) + 40,
        column_config={"image": st.column_config.ImageColumn("image", width="small")},
    )
    cells = event.selection.cells  # [(row position, column)]: positions in `cases`, however sorted
    return paths[cells[0][0]] if cells else chosen
