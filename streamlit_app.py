"""Brain-tumor MRI: transfer learning vs training from scratch. Run with `make run`."""

import streamlit as st

from core.artifacts import ArtifactError
from pages.ui import routing, sidebar, warm

st.set_page_config(page_title="Brain MRI: transfer vs scratch", page_icon="🧠", layout="wide")

navigation = st.navigation(
    [
        st.Page("pages/overview.py", title="Overview", icon=":material/dashboard:", default=True),
        st.Page("pages/confusion.py", title="Confusion matrices", icon=":material/grid_on:"),
        st.Page("pages/training.py", title="Training curves", icon=":material/show_chart:"),
        st.Page("pages/train.py", title="Train", icon=":material/model_training:"),
        gradcam := st.Page("pages/gradcam.py", title="Grad-CAM", icon=":material/visibility:"),
        st.Page("pages/mistakes.py", title="Misclassified explorer", icon=":material/search:"),
        st.Page("pages/calibration.py", title="Calibration", icon=":material/tune:"),
        st.Page("pages/curves.py", title="ROC & operating points", icon=":material/ssid_chart:"),
        st.Page("pages/audit.py", title="Leakage audit", icon=":material/content_copy:"),
        st.Page("pages/generalisation.py", title="Generalisation", icon=":material/public:"),
        st.Page("pages/efficiency.py", title="Efficiency", icon=":material/speed:"),
        predict := st.Page("pages/predict.py", title="Live prediction", icon=":material/upload:"),
        detail := st.Page(
            "pages/image.py", title="Image detail", icon=":material/image:", visibility="hidden"
        ),
    ]
)
sidebar.subset_switch()
sidebar.dataset_field()
st.session_state[routing.APP_KEY] = True  # pages check it: see routing.require_models
try:
    if navigation in (gradcam, predict, detail):  # the pages that load the models
        routing.require_model_files()
    navigation.run()
except ArtifactError as error:  # a missing or damaged file this page needs; the others still work
    st.error(str(error))
finally:
    st.session_state[routing.APP_KEY] = False  # a page run without this script finds it unset
    warm.start()  # once the first page is drawn (or has stopped), so that it does not compete with it
