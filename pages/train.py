import streamlit as st

from core import artifacts, paths
from core.models import registry
from core.report.figures import training_curves
from core.training import monitor, presets, promotion, runs
from pages.ui import routing, sidebar, widgets

REFRESH_S = 2  # while a run goes, its progress redraws this often (the rest of the page stays)
PROMOTED_KEY = "train_promoted"  # the last promotion's message, shown after the page reruns
STATUS_COLORS = {runs.RUNNING: "blue", runs.FINISHED: "green", runs.FAILED: "red", runs.CANCELLED: "gray"}

routing.run_through_app()  # no model needed: this page trains them
st.title("Train")
st.caption(
    f"Trains in a background process, into its own folder under `{paths.shown(paths.runs_dir())}`: "
    "the shipped models change only when you promote a finished run. Reloading or leaving this page "
    "does not stop a run; one run goes at a time."
)

going = runs.active_run()
preset = st.radio(
    "Preset", list(presets.PRESETS), format_func=lambda name: presets.PRESETS[name].title, horizontal=True
)
data_dir = st.session_state.get(sidebar.DATA_KEY) or None  # the sidebar's dataset folder
st.caption(presets.PRESETS[preset].description)
shown_data = paths.shown(data_dir) if data_dir else None
planned = presets.PRESETS[preset].command_lines(
    paths.shown(paths.runs_dir() / "<run id>" / "artifacts"), shown_data
)
st.code("\n".join(planned), language="bash", wrap_lines=True)
if st.button(
    "Start",
    type="primary",
    icon=":material/play_arrow:",
    disabled=going is not None,
    help=f"Run {going.id} is going: cancel it or wait." if going else None,
):
    try:
        runs.start(preset, data_dir=data_dir)
        st.rerun()
    except (RuntimeError, ValueError, OSError) as error:
        st.error(str(error))


def show_run(run: runs.Run) -> None:
    """A run's status, progress bar, training curves and log; redrawn every REFRESH_S while it goes."""
    was_running = run.status == runs.RUNNING
    run = runs.load_run(run.folder)
    if was_running and run.status != runs.RUNNING:
        st.rerun()  # it ended: redraw the whole page (Start button, runs table, promotion)
    st.subheader(f"Run {run.id}")
    ended = f", ended {run.ended}" if run.ended else ""
    st.markdown(f":{STATUS_COLORS[run.status]}-badge[{run.status}] started {run.started}{ended}")
    progress = monitor.progress(run)
    st.progress(progress.fraction, text=progress.text())
    if run.status == runs.RUNNING and st.button("Cancel run", icon=":material/stop:"):
        try:
            runs.cancel(run)
        except RuntimeError as error:
            st.error(str(error))
        st.rerun()
    if run.status == runs.FAILED:
        st.error(f"Run {run.id} failed (exit code {run.exit_code}): its log below says why.")
    if progress.records:
        color = registry.get(progress.model).color
        for column, metric in zip(st.columns(2), ("accuracy", "loss")):
            with column:
                figure = training_curves(progress.history(), metric, color)
                st.plotly_chart(figure, width="stretch", key=f"curve-{metric}")
    with st.expander("Log (last lines)", expanded=run.status == runs.FAILED):
        st.code(monitor.log_tail(run) or "(nothing yet)", language=None)
        st.caption(f"Full log: `{run.log}`. Commands: " + "; ".join(f"`{c}`" for c in run.commands))


latest = going or next(iter(runs.list_runs()), None)
if latest is not None:
    st.fragment(show_run, run_every=REFRESH_S if going else None)(latest)

st.subheader("Runs and the shipped models")
table = promotion.runs_table()
st.dataframe(
    table,
    hide_index=True,
    column_config=widgets.number_columns(
        {"training (min)": "%.1f"}, ("accuracy", "macro F1", "clean accuracy")
    ),
)
st.caption(
    "Test-set accuracy and macro F1; clean accuracy on the leakage audit's clean subset (empty for a "
    "run on another test set). Only finished runs are listed."
)

if message := st.session_state.pop(PROMOTED_KEY, None):
    st.success(message)
finished = [run for run in runs.list_runs() if run.status == runs.FINISHED]
if finished:
    st.subheader("Promote a finished run")
    st.caption(
        "Its model folder replaces the shipped one, which every page then shows. Only when you ask, "
        "and only a complete folder evaluated on the shipped models' test set."
    )
for run in finished:
    with st.popover(f"Promote run {run.id}…", icon=":material/upgrade:"):
        st.warning(
            "This replaces the shipped model folder with this run's, for every page. The previous "
            "folder is deleted once the new one is in place."
        )
        for model in run.models:
            label = f"Replace {artifacts.model_dir(model)} with this run's"
            if st.button(label, key=f"promote-{run.id}-{model}"):
                try:
                    promoted = promotion.promote(run, model)
                except (ValueError, OSError) as error:  # unfinished, incomplete, damaged, disk
                    st.error(str(error))
                else:
                    st.cache_data.clear()  # every page reads the new folder
                    st.cache_resource.clear()
                    st.session_state[PROMOTED_KEY] = promoted.message()
                    st.rerun()
