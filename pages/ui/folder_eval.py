"""The section "Evaluate on your own labelled folder": every model on a folder on the server."""

from collections import Counter
from pathlib import Path

import streamlit as st

from core.data.dataset import LABEL_TITLES, DatasetError
from core.evaluation import folder_eval
from core.evaluation.stats import percent_interval
from core.report.figures import confusion_figure
from core.serving.predict import describe_skipped
from core.wording import counted, share
from pages.ui import loaders, widgets

RESULT_KEY = "folder_eval_result"  # the latest FolderEvaluation, kept so a rerun does not recompute


def folder_section(names: list[str]) -> None:
    """A folder path, an Evaluate button, then each model's figures side by side."""
    st.subheader("Evaluate on your own labelled folder")
    folder = st.text_input("Folder on the server", key="folder_eval_path", placeholder="/data/my-scans")
    st.caption(folder_eval.LAYOUTS)
    if st.button("Evaluate", key="folder_eval_button", disabled=not folder.strip()):
        _evaluate(Path(folder.strip()), names)
    evaluation = st.session_state.get(RESULT_KEY)
    if evaluation is not None:
        _show(evaluation)


def _evaluate(folder: Path, names: list[str]) -> None:
    try:
        labelled = folder_eval.find_labelled(folder)
    except DatasetError as error:
        st.session_state.pop(RESULT_KEY, None)
        st.error(str(error))
        return
    progress = st.progress(0.0, text=f"0 of {len(labelled.files):,} images")
    st.session_state[RESULT_KEY] = folder_eval.evaluate_folder(
        {name: loaders.predictor(name) for name in names},
        {name: loaders.checker(name) for name in names},
        labelled,
        on_progress=lambda done, total: progress.progress(done / total, text=f"{done:,} of {total:,} images"),
    )


def _show(evaluation: folder_eval.FolderEvaluation) -> None:
    layout = "by class" if evaluation.kind == folder_eval.CLASSES else "tumour / no tumour"
    extra = (
        f"; {counted(evaluation.unlabelled, 'image')} outside any label folder"
        if evaluation.unlabelled
        else ""
    )
    st.caption(
        f"`{evaluation.folder}`: {counted(len(evaluation.table), 'file')}, labelled {layout}; "
        f"{describe_skipped(Counter(evaluation.skipped))}{extra}."
    )
    unreadable = evaluation.unreadable
    if not unreadable.empty:
        st.warning(f"{counted(len(unreadable), 'file')} could not be read or decoded: not scored.")
        st.dataframe(unreadable, hide_index=True)
    for column, (name, figures) in zip(st.columns(len(evaluation.scores)), evaluation.scores.items()):
        with column:
            st.markdown(f"#### {widgets.title(name)}")
            _figures(name, figures, evaluation)
    _failure_gradcam(evaluation)


def _failure_gradcam(evaluation: folder_eval.FolderEvaluation) -> None:
    """Grad-CAM++ of both models on one image some model got wrong or flagged."""
    failed = sorted({file for name in evaluation.scores for file in evaluation.failures(name)["file"]})
    if not failed:
        return
    chosen = st.selectbox(
        f"Where the models look on a failure ({len(failed):,})", failed, index=None, key="folder_eval_cam"
    )
    if chosen:
        widgets.file_gradcam((evaluation.folder / chosen).read_bytes(), chosen, list(evaluation.scores))


def _figures(name: str, figures: folder_eval.ModelScores, evaluation: folder_eval.FolderEvaluation) -> None:
    headline = figures.headline
    if headline is None:
        st.info("No image could be scored.")
        return
    interval = headline.interval
    st.metric(headline.metric.capitalize(), f"{interval.estimate:.1%}")
    others = [
        f"{metric} {percent_interval(value)}"
        for metric, value in (("tumour recall", figures.tumour_recall), ("specificity", figures.specificity))
        if value and metric != headline.metric
    ]
    st.caption(
        f"95% CI {interval.low:.1%}–{interval.high:.1%} · {counted(figures.images, 'image')}"
        + "".join(f" · {other}" for other in others)
        + f" · its guard flagged {figures.flagged:,}, {figures.too_small:,} too small to judge"
    )
    st.caption(
        "Right per class: "
        + " · ".join(
            f"{LABEL_TITLES[label]} {share(figures.class_correct.get(label, 0), n)}"
            for label, n in figures.class_images.items()
        )
    )
    color = loaders.architecture(name).color
    figure = confusion_figure(figures.confusion, normalize=False, color=color, classes=tuple(figures.axis))
    st.plotly_chart(figure, key=f"folder_eval_confusion_{name}", config={"displayModeBar": False})
    failures = evaluation.failures(name)
    st.markdown(f"**Wrong or flagged** ({len(failures):,})")
    st.dataframe(failures, hide_index=True, column_config=widgets.number_columns(percent=("confidence",)))
