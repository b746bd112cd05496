"""The detail view opens over the gallery it is clicked in, in the same session (test_browser.py
clicks previous/next inside the dialog, which AppTest cannot: it reruns the whole page, closing it)."""

import json
import re
from urllib.parse import parse_qsl, urlsplit

from streamlit.testing.v1 import AppTest

from conftest import needs_dataset
from core import artifacts, paths
from core.data import subsets

TIMEOUT = 120  # the first page pays for importing TensorFlow


def _mistakes(subset: str) -> AppTest:
    app = AppTest.from_file(str(paths.ROOT / "streamlit_app.py"), default_timeout=TIMEOUT)
    app.session_state["data_dir"] = str(paths.data_dir())
    app.session_state["test_subset"] = subset
    app.run()
    app.switch_page("pages/mistakes.py").run()
    assert not app.exception, [e.message for e in app.exception]
    return app


def _clean_paths() -> set[str]:
    return {t["path"] for t in artifacts.load_audit()["test_images"] if not t["near"]}


@needs_dataset
def test_a_thumbnail_opens_its_detail_view_over_the_gallery_in_the_same_session():
    app = _mistakes(subsets.CLEAN)
    opens = [b for b in app.button if b.key and b.key.startswith("mistakes_gallery_open_")]
    assert opens and not any(img.proto.link for img in app.image)  # no link to a new tab
    first = opens[0].key.removeprefix("mistakes_gallery_open_")
    opens[0].click().run()
    assert not app.exception, [e.message for e in app.exception]
    assert app.title[0].value == "Misclassified explorer"  # still this page, under the dialog
    text = " ".join(m.value for m in app.markdown)
    n_shown = int(re.search(r"\*\*(\d+)\*\* images, sorted", text).group(1))
    assert re.search(rf"\*\*1\*\* of {n_shown}: ", text)  # previous/next through this gallery
    assert f"`{first}`" in text and "**True class:**" in text
    n_models = len(artifacts.available_models())
    assert first in _clean_paths()  # the gallery of the subset the sidebar still holds
    assert app.session_state["test_subset"] == subsets.CLEAN
    buttons = {b.key: b for b in app.button}
    assert buttons["detail_previous"].disabled and not buttons["detail_next"].disabled
    assert len(app.get("plotly_chart")) == 2  # the probabilities and the maps' colour key
    bars = json.loads(app.get("plotly_chart")[0].proto.spec)["data"]
    answers = re.findall(r"[✓✗] [^:]+: \w[\w ]* (\d+\.\d%)", text)
    assert len(answers) == n_models and len(bars) == n_models
    for shown, bar in zip(answers, bars):  # each answer's confidence is the one its bars carry
        assert shown == max(bar["text"], key=lambda label: float(label.rstrip("%")))
    assert len(app.image) >= 24 + 1 + n_models  # the thumbnails, then the large image and its maps


@needs_dataset
def test_the_deep_link_still_opens_the_detail_page():
    from pages.ui import gallery

    path = artifacts.load_predictions(artifacts.available_models()[0])["path"].iloc[0]
    link = gallery.detail_link(path, gallery.remember("one image", [path]))
    app = AppTest.from_file(str(paths.ROOT / "streamlit_app.py"), default_timeout=TIMEOUT)
    for name, value in parse_qsl(urlsplit(link).query):
        app.query_params[name] = value
    app.run()
    app.switch_page("pages/image.py").run()
    assert not app.exception
    assert app.title[0].value == "Image detail"
    assert "**1** of 1: one image" in " ".join(m.value for m in app.markdown)
