"""The Grad-CAM page's picker (a click on any cell of a row, the arrow keys, the list it picks from)
and its refusal to draw maps for an upload the guard does not recognise."""

import io
import re

import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from conftest import make_scan
from core import artifacts, paths
from core.data import subsets
from core.serving.predict import NOT_RECOGNISED

TIMEOUT = 120  # the first page pays for importing TensorFlow
needs_dataset = pytest.mark.skipif(
    not (paths.data_dir() / "Testing").is_dir(), reason=f"dataset not found; set {paths.DATA_ENV_VAR}"
)


def _gradcam() -> AppTest:
    app = AppTest.from_file(str(paths.ROOT / "streamlit_app.py"), default_timeout=TIMEOUT)
    app.session_state["data_dir"] = str(paths.data_dir())
    app.run()
    app.switch_page("pages/gradcam.py").run()
    assert not app.exception, [e.message for e in app.exception]
    return app


def _shown(app: AppTest) -> str:
    """The path of the test image the page shows."""
    text = " ".join(m.value for m in app.markdown)
    return re.search(r"True class: \*\*[^*]+\*\* · `([^`]+)`", text).group(1)


def _group(app: AppTest, label_start: str) -> list[str]:
    """The paths of a "Choose from" list, in the page's order (the shipped predictions')."""
    from core.evaluation import compare

    names = artifacts.available_models()
    joined = compare.joined_predictions({name: artifacts.load_predictions(name) for name in names})
    groups = compare.image_groups(joined, names)
    return next(group for title, group in groups.items() if title.startswith(label_start))


def _choose_from(app: AppTest):
    return next(box for box in app.selectbox if box.label == "Choose from")


@needs_dataset
def test_changing_the_list_shows_its_first_image_not_the_one_before():
    app = _gradcam()
    gliomas = _group(app, "True class: Glioma")
    assert _shown(app) == gliomas[0]
    _choose_from(app).set_value("True class: No tumor").run()
    assert not app.exception
    assert _shown(app) == _group(app, "True class: No tumor")[0]
    assert sum(frame.value.shape[0] == len(_group(app, "True class: No tumor")) for frame in app.dataframe)


@needs_dataset
def test_a_cell_of_any_column_picks_its_row_and_the_pick_survives_the_subset_switch():
    app = _gradcam()
    gliomas = _group(app, "True class: Glioma")
    group = _choose_from(app).value
    app.session_state[f"gradcam_pick_{subsets.FULL}_{group}"] = {"selection": {"cells": [(3, "true class")]}}
    app.run()
    assert not app.exception and _shown(app) == gliomas[3]
    # a list of the same images (the clean subset's, where it holds it) starts on the image picked
    clean = {t["path"] for t in artifacts.load_audit()["test_images"] if not t["near"]}
    picked = next(path for path in gliomas if path in clean)
    app.session_state[f"gradcam_pick_{subsets.FULL}_{group}"] = {
        "selection": {"cells": [(gliomas.index(picked), "name")]}
    }
    app.run()
    app.session_state["test_subset"] = subsets.CLEAN
    app.run()
    assert not app.exception and _shown(app) == picked


@needs_dataset
def test_the_detail_view_button_opens_it_over_the_page_through_the_list():
    app = _gradcam()
    gliomas = _group(app, "True class: Glioma")
    app.button(key="gradcam_detail").click().run()
    assert not app.exception
    assert app.title[0].value == "Grad-CAM: where each model looks"
    assert f"**1** of {len(gliomas)}: Grad-CAM: True class: Glioma" in " ".join(m.value for m in app.markdown)


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def test_no_maps_for_an_upload_the_guard_does_not_recognise():
    app = AppTest.from_file(str(paths.ROOT / "streamlit_app.py"), default_timeout=TIMEOUT).run()
    app.switch_page("pages/gradcam.py").run()
    app.segmented_control[0].set_value("Upload").run()
    app.file_uploader[0].set_value(("blob.png", _png(make_scan(2, 0, 256)), "image/png")).run()
    assert not app.exception
    assert any("does not look like the brain MRI slices" in w.value for w in app.warning)
    assert not app.image  # neither its inputs nor their maps
    assert any("No maps" in info.value for info in app.info)
    answers = [m.value for m in app.markdown if "→" in m.value]
    assert len(answers) == len(artifacts.available_models())
    assert all(f"**{NOT_RECOGNISED}**" in answer and "%" not in answer for answer in answers)


@needs_dataset
def test_a_recognised_upload_still_gets_its_maps():
    slice_ = next((paths.data_dir() / "Testing" / "pituitary").glob("*.jpg")).read_bytes()
    app = AppTest.from_file(str(paths.ROOT / "streamlit_app.py"), default_timeout=TIMEOUT).run()
    app.switch_page("pages/gradcam.py").run()
    app.segmented_control[0].set_value("Upload").run()
    app.file_uploader[0].set_value(("scan.jpg", slice_, "image/jpeg")).run()
    assert not app.exception and not any("No maps" in info.value for info in app.info)
    assert len(app.image) == 2 * len(artifacts.available_models())  # input and overlay each
