import streamlit as st

from core import wording
from core.evaluation import efficiency, training_gap
from core.report.figures import training_curves
from pages.ui import loaders, routing, widgets

names = routing.require_models()
share = wording.per_model(
    {widgets.short_name(name): f"{loaders.config(name).validation_fraction:.0%}" for name in names}
)
fine_tuning = wording.fine_tuning_note(
    [widgets.short_name(name) for name in names if loaders.architecture(name).two_phase]
)
st.title("Training curves")
st.caption(
    f"Train (dotted) vs validation (solid), per epoch. Validation is {share} of the Training split, "
    f"never the test set. {fine_tuning}Triangles: learning-rate cuts. Star: the epoch whose weights "
    "were kept."
)
gap = training_gap.gap_note(
    {name: loaders.config(name) for name in names},
    {name: loaders.history(name) for name in names},
    {name: widgets.short_name(name) for name in names},
)
if gap:
    st.caption(gap)
metric = st.segmented_control("Metric", ["accuracy", "loss"], default="accuracy", required=True)

for column, name in zip(st.columns(len(names)), names):
    with column:
        st.markdown(f"#### {widgets.title(name)}")
        history = loaders.history(name)
        st.plotly_chart(training_curves(history, metric, loaders.architecture(name).color), width="stretch")
        st.dataframe(efficiency.phase_table(history), hide_index=True)
        minutes = efficiency.training_seconds(loaders.manifest(name)) / 60
        st.caption(
            f"The phases' training alone; the whole run took {minutes:.1f} min, decoding, export "
            "and evaluation included (each step on Efficiency)."
        )
