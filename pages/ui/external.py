"""The section on the external validation set: each model's figures and the tumours it misses."""

import streamlit as st

from core import paths
from core.report import external
from pages.ui import loaders, widgets


def external_section(names: list[str]) -> None:
    """The figures from external.json; with the images at hand, the missed slices and their maps."""
    st.subheader(external.HEADING)
    found = loaders.external()
    if found is None:
        st.info(external.ABSENT)
        return
    summary, per_image = found
    st.markdown(external.sentence(summary))
    st.dataframe(external.table(summary, loaders.titles()), hide_index=True)
    if (warned := loaders.warning_counts()) is not None:
        st.markdown(external.warnings_sentence(warned))
        if warned.unwarned:
            st.caption(f"Missed with no warning: {', '.join(warned.unwarned)}.")
    _missed(names, per_image)


def _missed(names: list[str], per_image) -> None:
    """The slices a chosen model misses at the operating point, and where each model looks on one."""
    scored = [name for name in names if f"{name}_called" in per_image]
    if not scored:
        return
    model = widgets.choose_one("Missed at the operating point by", scored, widgets.short_name)
    missed = per_image.loc[~per_image[f"{model}_called"].astype(bool), "file"].tolist()
    st.caption(f"{widgets.short_name(model)} misses {len(missed):,} of {len(per_image):,} slices.")
    folder = paths.external_dir()
    if folder is None or not folder.is_dir():
        st.caption(external.IMAGES_ABSENT)
        return
    chosen = st.selectbox(
        "Where the models look on a missed slice", missed, index=None, key="external_missed"
    )
    if chosen:
        widgets.file_gradcam((folder / chosen).read_bytes(), chosen, scored)
