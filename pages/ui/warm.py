"""Warm the models and explainers in the background when the app starts.

The first visit to Grad-CAM or Live prediction would otherwise pay for importing TensorFlow,
loading each model and tracing each CAM method (over ten seconds on two CPU cores). A thread,
started once per server, fills the same caches the pages read, while the user reads the
Overview; a page that needs a model first waits on that model's cache entry, never loads it twice.

Then it freezes what is loaded out of Python's cyclic garbage collector (gc.freeze). Streamlit
clears Keras' session after every script run, and Keras 3 collects garbage when it does: over
TensorFlow's million objects that took about 0.3 s of every upload's rerun. Frozen objects are
still freed when unreferenced; only cycles among them would stay, and the models live as long as
the server.
"""

import gc
import logging
import threading

import numpy as np
import streamlit as st
from streamlit import runtime

from core.serving.gradcam import METHODS
from pages.ui import loaders

log = logging.getLogger(__name__)
WARMED_METHODS = METHODS[:2]  # not ScoreCAM: it runs the model once per channel, slow on every image


def _warm(names: list[str], freeze: bool) -> None:
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
        if freeze:
            gc.freeze()
    except Exception:  # a damaged artifact: the page that needs it says so when it is opened
        log.warning("warming the models failed", exc_info=True)


@st.cache_resource(show_spinner=False)
def start() -> threading.Thread:
    """Start warming, once per server; returns the thread (tests can join it)."""
    # Not a daemon: a process that exits while TensorFlow loads in a daemon thread aborts.
    # Frozen only in a served app (`streamlit run`), not in a process that merely runs its script
    # (AppTest in the tests), whose other objects have no reason to outlive their collection.
    served = runtime.exists()
    thread = threading.Thread(target=_warm, args=(loaders.model_names(), served), name="warm-models")
    thread.start()
    return thread
