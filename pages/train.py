import streamlit as st

from core import artifacts, paths
from core.models import registry
from core.report.figures import training_curves
from core.training import monitor, presets, promotion, runs
from pages.ui import routing, sidebar, widgets

REFRESH_S = 2  # while a run goes, its progress redraws this often (the rest of the page stays)
PROMOTED_KEY = "train_promoted"  # the last promotion's message, shown after the page reruns
MAX_SEEDS = 5
CHANGE_COLUMNS = widgets.number_columns({"change (points)": "%+.1f"}, ("shipped", "new"))
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
seeds = st.number_input(
    "Seeds per model",
    min_value=1,
    max_value=MAX_SEEDS,
    value=None,
    placeholder=f"as the preset: {presets.PRESETS[preset].seeds_text()}",
    help="Each seed is a whole training run of the model (its initial weights, shuffling and "
    "augmentation); the validation split is the same for every seed. Leave empty for the preset's own.",
)
shown_data = paths.shown(data_dir) if data_dir else None
planned = (
    presets.PRESETS[preset]
    .with_seeds(seeds)
    .command_lines(paths.shown(paths.runs_dir() / "<run id>" / "artifacts"), shown_data)
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
        runs.start(preset, data_dir=data_dir, seeds=seeds)
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
for problem in promotion.damaged():
    st.warning(f"Left out, damaged: {problem}", icon=":material/broken_image:")


def swapped(do) -> None:
    """Run a promotion or a restore; on success every page reads the new folder."""
    try:
        promoted = do()
    except (ValueError, OSError) as error:  # worse, unfinished, incomplete, damaged, disk
        st.error(str(error))
    else:
        st.cache_data.clear()
        st.cache_resource.clear()
        st.session_state[PROMOTED_KEY] = promoted.message()
        st.rerun()


def change_box(model: str, source, key: str):
    """What putting source/<model> in place of the shipped folder changes; None if it cannot be read."""
    try:
        change = promotion.change(model, source)
    except (ValueError, OSError) as error:
        st.error(str(error))
        return None
    st.markdown(f"**{registry.get(model).config.display_name}**: {change.sentence()}")
    st.dataframe(change.table(), hide_index=True, column_config=CHANGE_COLUMNS, key=f"change-{key}")
    return change


def promote_box(run: runs.Run, model: str) -> None:
    """The change a promotion makes, and the button that does it (a worse model needs an override)."""
    change = change_box(model, run.artifacts, f"{run.id}-{model}")
    if change is None:
        return
    override = change.worse and st.checkbox("Promote it anyway", key=f"override-{run.id}-{model}")
    if st.button(
        f"Replace {artifacts.model_dir(model)} with this run's",
        key=f"promote-{run.id}-{model}",
        disabled=change.worse and not override,
    ):
        swapped(lambda: promotion.promote(run, model, allow_worse=override))


if message := st.session_state.pop(PROMOTED_KEY, None):
    st.success(message)
finished = [run for run in runs.list_runs() if run.status == runs.FINISHED]
if finished:
    st.subheader("Promote a finished run")
    st.caption(
        "Its model folder replaces the shipped one, which every page then shows. Only when you ask, "
        "only a complete folder evaluated on the shipped models' test set, and only a model at least "
        "as accurate on the validation split (the test set informs, it never decides) unless you "
        "override. The folder it replaces is kept and can be restored."
    )
for run in finished:
    with st.popover(f"Promote run {run.id}…", icon=":material/upgrade:"):
        for model in run.models:
            promote_box(run, model)

if kept := promotion.replaced():
    st.subheader("Replaced versions")
    folder = paths.shown(paths.artifacts_dir() / artifacts.REPLACED_DIR)
    st.caption(
        f"Model folders that promotions replaced, kept in `{folder}`; restoring one keeps the "
        "folder it replaces in turn."
    )
for version in kept:
    title = registry.get(version.model).config.display_name
    with st.popover(f"Restore {title} replaced {version.when}…", icon=":material/restore:"):
        if version.problem:
            st.error(f"Cannot be restored: {version.problem}")
        elif change_box(version.model, version.root, version.root.name) and st.button(
            f"Restore it as {artifacts.model_dir(version.model)}", key=f"restore-{version.root.name}"
        ):
            swapped(lambda version=version: promotion.restore(version))
