""" "New hospital" mode: a folder streamed through the models slice by slice, with a running tally
of the tumours each finds and misses, then the misses with their maps."""

from pathlib import Path

import streamlit as st

from core import paths
from core.data.dataset import DatasetError
from core.data.imagefile import ImageError
from core.evaluation import hospital
from core.evaluation.folder_eval import readable_folder
from core.wording import counted
from pages.ui import loaders, widgets

RESULT_KEY = "hospital_tally"  # (folder, model -> Tally) of the last stream, kept across reruns


def hospital_section(names: list[str]) -> None:
    """The folder (by default the external validation set), a Stream button, the tally as it grows."""
    st.subheader("New hospital: stream a folder through the models")
    st.caption(
        "Slice by slice, as if a new hospital sent them: each model's tumours found and missed so far, "
        f"at its operating point ({hospital.OPERATING_POINT}), and how many misses its guard warned about. "
        "It answers as Live prediction does, with each model's served copy, so on the external set a "
        "slice near a threshold can count otherwise than in the external set's table, which scores "
        "each model as it was evaluated."
    )
    default = paths.external_dir()
    folder = st.text_input(
        "Folder of slices to stream", value=str(default) if default else "", key="hospital_folder"
    ).strip()
    all_tumours = st.checkbox(
        "Without label folders, every slice shows a tumour (as in the external validation set)",
        value=True,
        key="hospital_all_tumours",
    )
    if st.button("Stream", icon=":material/play_arrow:", key="hospital_stream", disabled=not folder):
        _stream(folder, all_tumours, names)
    if (done := st.session_state.get(RESULT_KEY)) is not None:
        _misses(*done)


def _stream(typed: str, all_tumours: bool, names: list[str]) -> None:
    try:
        folder = readable_folder(typed)  # the files found below lie under it, `~` expanded
        found, labelled = hospital.slices(folder, all_tumours)
    except DatasetError as error:
        st.session_state.pop(RESULT_KEY, None)
        st.error(str(error))
        return
    if not labelled:
        st.info(
            f"No label folders in {folder}: {counted(len(found), 'slice')}, each counted as a tumour "
            "(the box above)."
        )
    thresholds = {name: loaders.operating_threshold(name) for name in names}
    tallies = {name: hospital.Tally() for name in names}
    unreadable: list[str] = []
    progress, board = st.progress(0.0), st.empty()
    for i, (path, tumour) in enumerate(found, start=1):
        file = str(path.relative_to(folder))
        try:
            data = path.read_bytes()
            results = {name: loaders.predictor(name).predict_file(data, file) for name in names}
        except (OSError, ImageError) as error:
            unreadable.append(f"{file} ({error})")
        else:
            for name, result in results.items():
                called = hospital.tumour_probability(result.probabilities) > thresholds[name]
                flagged = loaders.checker(name).flag(result.upload) is not None
                tallies[name].add(file, tumour, called, flagged)
        progress.progress(i / len(found), text=f"{i:,} of {len(found):,} slices")
        with board.container():
            _board(tallies)
    progress.empty()
    board.empty()  # the finished tally is drawn with the misses below
    if unreadable:
        st.warning(
            f"{counted(len(unreadable), 'file')} could not be read, not counted: " + "; ".join(unreadable)
        )
    st.session_state[RESULT_KEY] = (folder, tallies)


def _board(tallies: dict[str, hospital.Tally]) -> None:
    for column, (name, tally) in zip(st.columns(len(tallies)), tallies.items()):
        column.markdown(widgets.title(name))
        column.metric("Tumours found", f"{tally.found:,} of {tally.tumours:,}")
        column.caption(tally.sentence())


def _misses(folder: Path, tallies: dict[str, hospital.Tally]) -> None:
    """The finished stream's tally, and where every model looks on a slice one of them missed."""
    _board(tallies)
    missed = sorted({file for tally in tallies.values() for file in tally.missed})
    if not missed:
        return
    chosen = st.selectbox(f"A missed tumour ({len(missed):,})", missed, index=None, key="hospital_missed")
    if chosen:
        misses = [widgets.short_name(name) for name, tally in tallies.items() if chosen in tally.missed]
        st.caption(f"Missed by {', '.join(misses)}.")
        widgets.file_gradcam((folder / chosen).read_bytes(), chosen, list(tallies))
