"""Brain-tumor MRI: transfer learning vs training from scratch. Run with `make run`."""

import streamlit as st

from pages.ui import routing, sidebar

st.set_page_config(page_title="Brain MRI: transfer vs scratch", page_icon="🧠", layout="wide")

navigation = st.navigation(
    [
        st.Page("pages/overview.py", title="Overview", icon=":material/dashboard:", default=True),
        st.Page("pages/confusion.py", title="Confusion matrices", icon=":material/grid_on:"),
        st.Page("pages/training.py", title="Training curves", icon=":material/show_chart:"),
        st.Page("pages/gradcam.py", title="Grad-CAM", icon=":material/visibility:"),
        st.Page("pages/mistakes.py", title="Misclassified explorer", icon=":material/search:"),
        st.Page("pages/calibration.py", title="Calibration", icon=":material/tune:"),
        st.Page("pages/audit.py", title="Leakage audit", icon=":material/content_copy:"),
        st.Page("pages/efficiency.py", title="Efficiency", icon=":material/speed:"),
        st.Page("pages/predict.py", title="Live prediction", icon=":material/upload:"),
    ]
)
st.session_state[routing.APP_KEY] = True  # pages check it: see routing.require_models
sidebar.subset_switch()
sidebar.dataset_field()
navigation.run()
