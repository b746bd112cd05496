import pandas as pd
import streamlit as st

from core.figures import MODEL_COLORS, training_curves
from pages import shared

names = shared.require_models()
st.title("Training curves")
st.caption(
    "Train (dotted) vs validation (solid), per epoch. Validation is 15% of the Training split, "
    "never the test set. Dashed line: MobileNetV2 switches from training the new head on a "
    "frozen base to fine-tuning its top layers. Triangles: learning-rate cuts. Star: the "
    "epoch whose weights were kept."
)
metric = st.segmented_control("Metric", ["accuracy", "loss"], default="accuracy", required=True)

for column, name in zip(st.columns(len(names)), names):
    with column:
        st.markdown(f"#### {shared.title(name)}")
        history = shared.history(name)
        st.plotly_chart(training_curves(history, metric, MODEL_COLORS[name]), width="stretch")
        phases = pd.DataFrame(history["phases"]).rename(
            columns={"name": "phase", "first_epoch": "from epoch", "last_epoch": "to epoch",
                     "best_epoch": "best epoch", "wall_time_s": "wall time (s)"}
        )  # fmt: skip
        st.dataframe(phases, hide_index=True)
