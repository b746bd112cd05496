"""Warm the models and explainers in the background when the app starts.

The first visit to Grad-CAM or Live prediction would otherwise pay for importing TensorFlow,
loading each model and tracing each CAM method (over ten seconds on two CPU cores). A thread,
started once per server, fills the same caches the pages read, while the user reads the
Overview; a page that needs a model first waits on that model's cache entry, never loads it twice.
"""

import logging
import threading

import numpy as np
import streamlit as st

from core.serving.gradcam import METHODS
from pages.ui import loaders

log = logging.getLogger(__name__)
WARMED_METHODS = METHODS[:2]  # not ScoreCAM: it runs the model once per channel, slow on every image


def _warm(names: list[str]) -> None:
    # The caches say they miss a page's context: expected here, as no page asked.
    logging.getLogger("streamlit.runtime.scriptrunner_utils.script_run_context").setLevel(logging.ERROR)
    try:
        for name in names:
            loaders.predictor(name)
            loaders.checker(name)
        loaders.neighbour_check()
        for name in names:
            size = loaders.config(name).image_size
            blank = np.zeros((size, size, 3), np.uint8)
            for method in WARMED_METHODS:  # traces each method's graph once
                loaders.explainer(name).heatmap(blank, 0, method)
    except Exception:  # a damaged artifact: the page that needs it says so when it is opened
        log.warning("warming the models failed", exc_info=True)


@st.cache_resource(show_spinner=False)
def start() -> threading.Thread:
    """Start warming, once per server; returns the thread (tests can join it)."""
    # Not a daemon: a process that exits while TensorFlow loads in a daemon thread aborts.
    thread = threading.Thread(target=_warm, args=(loaders.model_names(),), name="warm-models")
    thread.start()
    return thread
