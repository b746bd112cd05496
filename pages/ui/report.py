"""The Overview's "Download report" button: the whole comparison as one HTML file (core.report.document)."""

import streamlit as st

from core import artifacts, report


@st.cache_data(show_spinner=False, max_entries=2)
def _html(modified: float) -> str:
    """The report of the artifacts as they stood at `modified` (their latest modification time)."""
    from core.report import document  # on the click: the report reads every study's results

    return document.build()


def _current() -> str:
    """The report, built on the first click (it takes a second or two) and again once artifacts change."""
    return _html(artifacts.modified())


def download_button() -> None:
    """A button that downloads the report; it is built when clicked, so the page draws no slower."""
    st.download_button(
        "Download report",
        data=_current,  # a callable: Streamlit calls it on the click, off the script's thread
        file_name=report.FILE_NAME,
        mime="text/html",
        on_click="ignore",
        icon=":material/download:",
        help="One HTML file with every table and figure of this comparison; it opens offline.",
    )
