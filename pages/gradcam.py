import streamlit as st

from core.data import subsets
from core.data.imagefile import UPLOAD_SUFFIXES, ImageError
from core.evaluation import compare
from core.serving.gradcam import METHODS
from core.serving.predict import refusal
from core.studies import localisation
from pages.ui import gallery, loaders, routing, sidebar, widgets

PICKED = "gradcam_path"  # the test image picked: kept when the subset changes, not the list


def forget_the_pick() -> None:  # another list: its first image, not one of the list before
    st.session_state.pop(PICKED, None)


names = routing.require_models()
st.title("Grad-CAM: where each model looks")
st.caption("Each map explains the class that model predicted. Red: regions that raise its score.")

left, middle, right = st.columns([2, 1, 1])
source = left.segmented_control("Image", ["Test set", "Upload"], default="Test set", required=True)
method = middle.selectbox("Method", METHODS)
opacity = right.slider("Overlay opacity", 0.0, 1.0, widgets.OPACITY, 0.05)

images, box, refused = None, None, None
try:
    if source == "Upload":
        upload = st.file_uploader("An MRI slice", type=sorted(UPLOAD_SUFFIXES))
        if upload is not None:
            uploads = loaders.upload_inputs(upload.getvalue(), upload.name)
            flags = loaders.foreign_warnings(uploads)
            widgets.warn_if_foreign(flags)
            refused = refusal(flags.values())  # as Live prediction: no class for a refused upload
            images = {name: decoded.pixels for name, decoded in uploads.items()}
    elif (folder := sidebar.require_dataset()) is not None:
        st.caption(sidebar.subset_caption())
        joined = loaders.joined_predictions(sidebar.subset())
        groups = compare.image_groups(joined, names)
        group = st.selectbox("Choose from", list(groups), on_change=forget_the_pick)
        st.caption(
            f"{len(groups[group])} test images: click any cell of a row to show that image, then move "
            "up and down with the arrow keys."
        )
        cases = joined[joined["path"].isin(groups[group])]
        picked = st.session_state.get(PICKED)
        chosen = picked if picked in groups[group] else next(iter(groups[group]), None)
        path = gallery.picker(cases, f"gradcam_pick_{sidebar.subset()}_{group}", chosen)
        if path is None:
            st.info("No test images match.")
        else:
            st.session_state[PICKED] = path
            true_label = loaders.joined_predictions().set_index("path").loc[path, "true_label"]
            about, opener = st.columns([4, 1], vertical_alignment="center")
            about.markdown(f"True class: **{widgets.class_title(true_label)}** · `{path}`")
            with opener:
                selection = gallery.remember(f"Grad-CAM: {group}", groups[group])
                gallery.open_button(folder, path, selection, "gradcam_detail", label="Detail view")
            images = loaders.test_inputs(folder, path)
            if (found := loaders.boxes(str(folder)).get(path)) and st.toggle("Show the tumour box", True):
                box = found
except ImageError as error:
    st.error(str(error))

if images:
    widgets.gradcam_pair(images, method, opacity, box, refused)

st.subheader(localisation.HEADING)
if (scored := loaders.localisation()) is None:
    st.info("No localisation scores in artifacts/. Write them with `python -m core localisation`.")
else:
    summary, table = scored
    subset = localisation.CLEAN if sidebar.subset() == subsets.CLEAN else localisation.FULL
    titles = loaders.titles()
    st.markdown(localisation.scores_sentence(summary, subset))
    st.dataframe(localisation.scores_table(summary, subset, titles), hide_index=True)
    st.caption(localisation.paired_sentence(summary, subset, method, titles))
    compared = summary["paired"].get(method, {}).get(subset, {}).get("models")
    if compared:
        st.markdown(f"**Only one model on the tumour** ({method}): sort by any column.")
        st.dataframe(
            localisation.one_sided(table, method, *compared, titles, subset),
            hide_index=True,
            column_config=widgets.number_columns(
                percent=tuple(f"{titles[n]}: mass in box" for n in compared)
            ),
        )
