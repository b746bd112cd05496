import streamlit as st

from core import efficiency
from core.figures import training_curves
from pages.ui import loaders, routing, widgets

names = routing.require_models()
share = widgets.per_model({name: f"{loaders.config(name).validation_fraction:.0%}" for name in names})
two_phase = [widgets.short_name(name) for name in names if loaders.architecture(name).two_phase]
switch = "switches" if len(two_phase) == 1 else "switch"
fine_tuning = (
    f"Dashed line: {widgets.listed(two_phase)} {switch} from training the new head on a frozen base "
    "to fine-tuning its top layers. "
    if two_phase
    else ""
)
st.title("Training curves")
st.caption(
    f"Train (dotted) vs validation (solid), per epoch. Validation is {share} of the Training split, "
    f"never the test set. {fine_tuning}Triangles: learning-rate cuts. Star: the epoch whose weights "
    "were kept."
)
metric = st.segmented_control("Metric", ["accuracy", "loss"], default="accuracy", required=True)

for column, name in zip(st.columns(len(names)), names):
    with column:
        st.markdown(f"#### {widgets.title(name)}")
        history = loaders.history(name)
        st.plotly_chart(training_curves(history, metric, loaders.architecture(name).color), width="stretch")
        st.dataframe(efficiency.phase_table(history), hide_index=True)
