"""The embedding map: training and test images on each model's 2-D feature map, coloured by
collection, class or right / wrong, with an upload placed where its features fall."""

import numpy as np
import pandas as pd
import streamlit as st

from core.data.dataset import CLASS_TITLES, TEST_SPLIT
from core.data.decode import decode_sized
from core.data.imagefile import UPLOAD_SUFFIXES, ImageError
from core.report.figures import embedding_figure
from core.studies.embedding import SEP, project
from pages.ui import loaders, widgets

COLOURS = {  # "Colour by" -> how a group is named from the map's arrays
    "collection": lambda arrays, name: arrays["source"],
    "class": lambda arrays, name: np.vectorize(CLASS_TITLES.get)(arrays["label"]),
    "right or wrong": lambda arrays, name: np.where(
        arrays["split"] != TEST_SPLIT,
        "training image",
        np.where(arrays[f"{name}{SEP}predicted"] == arrays["label"], "test: right", "test: wrong"),
    ),
}
SHOWN = {"both": None, "training images": "Training", "test images": TEST_SPLIT}


def embedding_section(names: list[str]) -> None:
    st.subheader("Embedding map")
    arrays = loaders.embedding()
    if arrays is None:
        st.info(
            "No embedding map in artifacts/. Write it with `python -m core embedding` (needs the dataset)."
        )
        return
    mapped = [name for name in names if f"{name}{SEP}coords" in arrays]
    if not mapped:
        st.info("The embedding map holds none of these models: rewrite it with `python -m core embedding`.")
        return
    st.caption(
        "Each image where the model's own penultimate features (the guard's) put it, reduced to two "
        "dimensions by principal components fitted on the training images. Images of one collection "
        "that cluster apart from the others' of the same class are what a model could tell the "
        "collections by."
    )
    name = widgets.choose_one("Model", mapped, widgets.short_name, key="embedding_model")
    middle, right = st.columns(2)
    colour = middle.segmented_control(
        "Colour by", list(COLOURS), default="collection", required=True, key="embedding_colour"
    )
    shown = right.segmented_control("Show", list(SHOWN), default="both", required=True, key="embedding_shown")
    coords = arrays[f"{name}{SEP}coords"]
    points = pd.DataFrame(
        {"x": coords[:, 0], "y": coords[:, 1], "group": COLOURS[colour](arrays, name), "path": arrays["path"]}
    )
    if SHOWN[shown]:
        points = points[arrays["split"] == SHOWN[shown]]
    upload = st.file_uploader(
        "Place an image on the map", type=sorted(UPLOAD_SUFFIXES), key="embedding_upload"
    )
    place = None
    if upload is not None:
        try:
            pixels = decode_sized(upload.getvalue(), loaders.config(name).image_size, name=upload.name).pixels
        except ImageError as error:
            st.error(str(error))
        else:
            features = loaders.checker(name).features(pixels[None])
            place = tuple(project(features, arrays[f"{name}{SEP}mean"], arrays[f"{name}{SEP}components"])[0])
    st.plotly_chart(embedding_figure(points, place), key=f"embedding-{name}-{colour}-{shown}")
