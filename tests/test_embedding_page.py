"""The Generalisation page's embedding map on the shipped artifacts (core.studies.embedding)."""

import json

import pytest
from test_app import open_page

from core import artifacts, paths

needs_map = pytest.mark.skipif(
    not (paths.ARTIFACTS_DIR / artifacts.EMBEDDING_FILE).is_file(), reason="no shipped embedding map"
)


def _traces(app) -> list[dict]:
    chart = next(c for c in app.get("plotly_chart") if "first principal component" in c.proto.spec)
    return json.loads(chart.proto.spec)["data"]


@needs_map
def test_the_map_colours_every_image_and_places_an_upload():
    arrays = artifacts.load_dataset_arrays(artifacts.EMBEDDING_FILE)
    app = open_page("pages/generalisation.py")
    names = [t["name"] for t in _traces(app)]
    assert sum(int(name.rsplit("(", 1)[1].rstrip(")").replace(",", "")) for name in names) == len(
        arrays["path"]
    )
    app.segmented_control(key="embedding_colour").set_value("right or wrong").run()
    app.segmented_control(key="embedding_shown").set_value("test images").run()
    assert not app.exception, [e.message for e in app.exception]
    names = [t["name"] for t in _traces(app)]
    assert {name.split(" (")[0] for name in names} <= {"test: right", "test: wrong"}
    if (paths.data_dir() / "Testing").is_dir():
        slice_ = next((paths.data_dir() / "Testing" / "glioma").glob("*.jpg"))
        app.file_uploader(key="embedding_upload").set_value(
            (slice_.name, slice_.read_bytes(), "image/jpeg")
        ).run()
        assert not app.exception, [e.message for e in app.exception]
        star = next(t for t in _traces(app) if t["name"] == "your image")
        row = list(arrays["path"]).index(f"Testing/glioma/{slice_.name}")
        model = app.segmented_control(key="embedding_model").value
        expected = arrays[f"{model}__coords"][row]
        scale = abs(arrays[f"{model}__coords"]).max()
        assert (
            abs(star["x"][0] - expected[0]) < 0.02 * scale and abs(star["y"][0] - expected[1]) < 0.02 * scale
        )
