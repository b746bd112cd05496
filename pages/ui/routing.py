"""Every page starts here: through streamlit_app.py, and only with trained models."""

import runpy
from typing import NoReturn

import streamlit as st
from streamlit.runtime.scriptrunner import StopException

from core import paths
from pages.ui import loaders

APP_KEY = "app_navigation"  # set by streamlit_app.py while it runs a page


def require_models() -> list[str]:
    """The shipped models' names, or a message and a stop if there are none."""
    run_through_app()
    names = loaders.model_names()
    if not names:
        st.error("No trained models in artifacts/. Train them with `python -m core train --model all`.")
        st.stop()
    return names


def require_model_files() -> None:
    """Stop with a message naming each model file that is missing or damaged (a cheap check)."""
    problems = loaders.model_file_problems()
    for problem in problems:
        st.error(problem)
    if problems:
        st.stop()


def run_through_app() -> None:
    """Serve this page through streamlit_app.py if Streamlit started it on its own.

    A server with a pages/ folder runs a deep link such as /predict as the bare page script
    (Streamlit's older multipage mode) until some session has called st.navigation, and AppTest's
    switch_page always does: the page would come without the app's navigation, layout, sidebar
    and its message for a missing or damaged artifact.
    """
    if not st.session_state.get(APP_KEY):
        runpy.run_path(str(paths.ROOT / "streamlit_app.py"))
        stop_keeping_requests()


def stop_keeping_requests() -> NoReturn:
    """End this script run, as st.stop() does, but keep a rerun the user asked for meanwhile.

    st.stop() also cancels whatever rerun is waiting for the run to end. A widget inside a fragment
    (Live prediction's One image tab) asks for a run of its fragment alone, which waits for the run
    in progress: an image uploaded while a fresh server still drew that page, through the app above,
    was listed but never classified. The exception st.stop() raises, raised on its own, ends the run
    the same way and leaves that request to run next.
    """
    raise StopException
