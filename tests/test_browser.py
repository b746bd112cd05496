"""End to end in headless Chromium: `streamlit run`, every page, an upload, a matrix click.

Set SCREENSHOT_DIR to keep a screenshot of each page (`make screenshots` writes docs/screenshots).
"""

import io
import os
import re
import shutil
from pathlib import Path

import pytest

from benchmarks.cold_start import CHROMIUM, WAIT_MS, browser_page, first_page_times, streamlit_server
from conftest import make_scan
from core import artifacts, paths
from core.serving.predict import NOT_RECOGNISED

pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists(), reason="no Chromium to drive: apt-get install chromium"
)
PAGES = {  # url path -> title on the page
    "": "Transfer learning vs training from scratch",
    "confusion": "Confusion matrices",
    "training": "Training curves",
    "gradcam": "Grad-CAM: where each model looks",
    "mistakes": "Misclassified explorer",
    "calibration": "Calibration",
    "audit": "Leakage audit",
    "generalisation": "Generalisation",
    "efficiency": "Efficiency",
    "predict": "Live prediction",
    "curves": "ROC and operating points",
}


@pytest.fixture(scope="module")
def page():
    with browser_page() as page:
        yield page


@pytest.fixture(scope="module")
def server(page):  # the browser first, as a user's is open before the app starts
    with streamlit_server() as running:
        yield running


def _open(page, url: str, path: str):
    page.goto(f"{url}/{path}")
    page.get_by_role("heading", name=PAGES[path]).wait_for(timeout=WAIT_MS)
    page.wait_for_load_state("networkidle")
    return page


def _no_exception(page) -> None:
    assert page.locator('[data-testid="stException"]').count() == 0


def _screenshot(page, name: str) -> None:
    if os.environ.get("SCREENSHOT_DIR"):
        Path(os.environ["SCREENSHOT_DIR"]).mkdir(parents=True, exist_ok=True)
        page.wait_for_timeout(1500)  # let charts finish animating
        page.screenshot(path=str(Path(os.environ["SCREENSHOT_DIR"]) / f"{name}.png"), full_page=True)


@pytest.fixture
def scans(tmp_path):
    """(a folder for a test's scans, the text a user types for a path in it). For screenshots it is
    `example-scans` in the project, typed relative to it as a user's own folder would be, and
    removed afterwards; otherwise a temporary folder, typed in full."""
    if not os.environ.get("SCREENSHOT_DIR"):
        yield tmp_path, str
        return
    folder = paths.ROOT / "example-scans"
    assert not folder.exists(), f"{folder} is in the way of the screenshots' example folder"
    try:
        yield folder, lambda path: str(path.relative_to(paths.ROOT))
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def test_first_page_renders_and_every_page_opens(server, page):
    url, started = server
    times = first_page_times(page, url, started)  # `python -m benchmarks.cold_start` measures it
    print(f"\nfirst page: title {times['title_s']:.1f} s, complete {times['complete_s']:.1f} s after start")
    page.get_by_text("Accuracy").first.wait_for(timeout=WAIT_MS)
    _no_exception(page)
    page.get_by_text("more accurate", exact=False).first.wait_for(timeout=WAIT_MS)  # the verdict
    _screenshot(page, "overview")
    # with the dataset present
    images_expected = {
        "training": 0,
        "curves": 0,
        "gradcam": 4,
        "mistakes": 1,
        "calibration": 0,
        "audit": 2,
        "generalisation": 0,
        "efficiency": 0,
    }
    for path, count in images_expected.items():
        _open(page, url, path)
        if count and (paths.data_dir() / "Testing").is_dir():
            page.locator('[data-testid="stImage"]').nth(count - 1).wait_for(timeout=WAIT_MS)
        page.wait_for_timeout(1000)
        _no_exception(page)
        _screenshot(page, path)


def test_the_clean_subset_switch_changes_the_overview(server, page):
    url, _ = server
    _open(page, url, "")
    n_clean = sum(not image["near"] for image in artifacts.load_audit()["test_images"])
    page.get_by_text(f"Clean subset ({n_clean:,})").click()
    page.get_by_text(f"the {n_clean:,} of").first.wait_for(timeout=WAIT_MS)
    page.get_by_text("McNemar's exact test").first.wait_for(timeout=WAIT_MS)
    _no_exception(page)
    _screenshot(page, "overview-clean")


def test_upload_on_live_prediction_shows_each_models_prediction(server, page):
    url, _ = server
    _open(page, url, "predict")
    real_scans = sorted((paths.data_dir() / "Testing" / "meningioma").glob("*.jpg"))
    if real_scans:
        name, data = real_scans[0].name, real_scans[0].read_bytes()
    else:
        buffer = io.BytesIO()
        make_scan(3, 7, 224).convert("RGB").save(buffer, format="JPEG")
        name, data = "scan.jpg", buffer.getvalue()
    page.locator('input[type="file"]').first.set_input_files(
        {"name": name, "mimeType": "image/jpeg", "buffer": data}
    )
    predictions = page.locator('[data-testid="stMetricLabel"]', has_text="Prediction")
    n_models = len(artifacts.available_models())
    predictions.nth(n_models - 1).wait_for(timeout=WAIT_MS)
    assert predictions.count() == n_models
    _no_exception(page)
    _screenshot(page, "predict")


# A fragment with an uploader, then a run that goes on a while and stops as a page served outside
# the app does (routing.run_through_app): a file set meanwhile asks for a run of the fragment alone.
STOPPED_APP = """
import time
import streamlit as st
from pages.ui import routing

@st.fragment
def part():
    upload = st.file_uploader("A file", key="upload")
    st.write(f"Received {upload.name}" if upload else "Nothing yet")

part()
if not st.session_state.get("stopped"):
    st.session_state.stopped = True
    st.write("Still running")
    time.sleep(3)
    routing.stop_keeping_requests()
"""


def test_a_stopped_run_keeps_an_upload_made_meanwhile(page, tmp_path):
    # With st.stop() the file stays listed and is never received: a fresh server's first visit to
    # Live prediction lost an upload made while the page was still drawn.
    (tmp_path / "stopped.py").write_text(STOPPED_APP)
    with streamlit_server(script=str(tmp_path / "stopped.py")) as (url, _):
        page.goto(url)
        page.get_by_text("Still running").wait_for(timeout=WAIT_MS)
        page.locator('.st-key-upload input[type="file"]').set_input_files(
            {"name": "scan.txt", "mimeType": "text/plain", "buffer": b"a scan"}
        )
        page.get_by_text("Received scan.txt").wait_for(timeout=WAIT_MS)
        _no_exception(page)


def test_an_example_is_one_click_away_and_what_if_moves_every_answer(server, page):
    url, _ = server
    _open(page, url, "predict")
    page.get_by_text("A photo", exact=True).click()
    page.get_by_text("the guard refuses it").wait_for(timeout=WAIT_MS)
    answers = page.locator('[data-testid="stMetricValue"]', has_text=NOT_RECOGNISED)
    answers.nth(len(artifacts.available_models()) - 1).wait_for(timeout=WAIT_MS)
    page.get_by_text("What if…").click()
    rotation = page.get_by_role("slider", name="Rotation (°)")
    rotation.focus()
    for _ in range(5):
        rotation.press("ArrowRight")  # one degree a press
    page.get_by_text("Answers to the image changed by rotation 5°.").wait_for(timeout=WAIT_MS)
    _no_exception(page)
    _screenshot(page, "predict-example")


def test_new_hospital_mode_streams_a_folder_with_a_running_tally(server, page, scans):
    url, _ = server
    root, typed = scans
    for label, folder in ((1, "tumor"), (2, "no")):
        (root / "hospital" / folder).mkdir(parents=True)
        for i in range(3):
            make_scan(label, seed=i, size=224).convert("RGB").save(root / "hospital" / folder / f"{i}.jpg")
    _open(page, url, "generalisation")
    page.get_by_label("Folder of slices to stream").fill(typed(root / "hospital"))
    page.get_by_label("Folder of slices to stream").press("Enter")
    page.get_by_role("button", name="Stream").click()
    found = page.locator('[data-testid="stMetricLabel"]', has_text="Tumours found")
    found.nth(len(artifacts.available_models()) - 1).wait_for(timeout=WAIT_MS)
    page.get_by_text("no-tumour slices").first.wait_for(timeout=WAIT_MS)
    _no_exception(page)


OUTLINES = (  # a matrix's outlined cells: shapes above the plot
    "i => document.querySelectorAll('.js-plotly-plot')[i]"
    ".querySelectorAll('.layer-above .shapelayer path').length"
)


def test_clicking_a_confusion_cell_opens_its_gallery(server, page):
    url, _ = server
    _open(page, url, "confusion")
    page.get_by_text("Click a cell of either matrix").wait_for(timeout=WAIT_MS)
    charts = page.locator(".js-plotly-plot")
    first_cell = charts.nth(0).locator(".scatterlayer .point").first
    first_cell.wait_for(timeout=WAIT_MS)
    first_cell.click(force=True)
    heading = page.get_by_role("heading", name="true Glioma → predicted Glioma")
    heading.wait_for(timeout=WAIT_MS)
    page.wait_for_function(f"({OUTLINES})(0) == 1", timeout=WAIT_MS)  # the clicked cell's outline
    _no_exception(page)
    if (paths.data_dir() / "Testing").is_dir():
        page.locator('[data-testid="stImage"]').first.wait_for(timeout=WAIT_MS)
    _screenshot(page, "confusion")
    # a cell of the second matrix: its gallery opens and the first matrix loses its outline
    second = artifacts.load_config(artifacts.available_models()[1]).display_name
    charts.nth(1).locator(".scatterlayer .point").nth(1).click(force=True)
    page.get_by_role("heading", name=f"{second}: true Glioma → predicted Meningioma").wait_for(
        timeout=WAIT_MS
    )
    page.wait_for_function(f"({OUTLINES})(0) == 0", timeout=WAIT_MS)
    _no_exception(page)


def test_a_deep_link_to_a_fresh_server_gets_the_whole_app(page):
    # The first request a new server sees is for a page other than the overview.
    with streamlit_server() as (url, _):
        _open(page, url, "training")
        navigation = page.locator('[data-testid="stSidebarNav"]')
        navigation.get_by_text("Misclassified explorer").wait_for(timeout=WAIT_MS)
        for helper in ("ui", "loaders", "sidebar", "routing", "widgets"):  # pages/ui/, not pages
            assert navigation.get_by_text(helper, exact=True).count() == 0
        page.get_by_label("Dataset folder", exact=True).wait_for(timeout=WAIT_MS)
        _no_exception(page)


def test_generalisation_page_evaluates_a_labelled_folder(server, page, scans):
    url, _ = server
    root, typed = scans
    for label, folder in ((0, "glioma"), (2, "notumor")):
        (root / "mine" / folder).mkdir(parents=True)
        for i in range(3):
            make_scan(label, seed=i, size=224).convert("RGB").save(root / "mine" / folder / f"{i}.jpg")
    (root / "mine" / "notumor" / "broken.jpg").write_bytes(b"not an image")
    _open(page, url, "generalisation")
    page.get_by_role("heading", name="Leave one source out").wait_for(timeout=WAIT_MS)
    page.locator(".js-plotly-plot").nth(1).wait_for(timeout=WAIT_MS)  # a confusion per model
    page.get_by_label("Folder on the server").fill(typed(root / "mine"))
    page.get_by_label("Folder on the server").press("Enter")
    page.get_by_role("button", name="Evaluate").click()
    page.get_by_text("1 file could not be read or decoded").wait_for(timeout=WAIT_MS)
    accuracy = page.locator('[data-testid="stMetricLabel"]', has_text="Accuracy")
    accuracy.nth(1).wait_for(timeout=WAIT_MS)  # one per compared model
    per_class = page.get_by_text("Right per class: Glioma").first  # three gliomas, three no-tumour
    assert "of 3)" in per_class.inner_text(timeout=WAIT_MS)
    _no_exception(page)
    _screenshot(page, "generalisation")


def test_gradcam_draws_the_tumour_box_and_shows_each_models_localisation(server, page):
    url, _ = server
    _open(page, url, "gradcam")
    page.get_by_role("heading", name="Where the models look, against the tumour boxes").wait_for(
        timeout=WAIT_MS
    )
    page.get_by_text("McNemar").first.wait_for(timeout=WAIT_MS)
    if (paths.data_dir() / "Testing").is_dir():  # the first glioma test image has a tumour box
        page.get_by_text("Show the tumour box").wait_for(timeout=WAIT_MS)
        described = page.get_by_text("Tumour box: peak")
        described.nth(len(artifacts.available_models()) - 1).wait_for(timeout=WAIT_MS)
        page.get_by_text("Show the tumour box").click()
        described.first.wait_for(state="detached", timeout=WAIT_MS)
    _no_exception(page)


@pytest.mark.skipif(not (paths.data_dir() / "Testing").is_dir(), reason="needs the dataset's test images")
def test_a_thumbnail_opens_its_detail_view_over_the_gallery_which_keeps_the_sidebar(server, page):
    url, _ = server
    _open(page, url, "mistakes")
    # the sidebar as a user leaves it: another spelling of the dataset folder, the clean subset
    folder_field = page.get_by_label("Dataset folder", exact=True)
    typed = str(paths.data_dir().resolve()) + "/"
    folder_field.fill(typed)
    folder_field.press("Enter")
    n_clean = sum(not t["near"] for t in artifacts.load_audit()["test_images"])
    page.get_by_text(f"Clean subset ({n_clean:,})").click()
    page.get_by_text(f"the {n_clean:,} of").first.wait_for(timeout=WAIT_MS)
    page.wait_for_load_state("networkidle")
    opener = page.locator('[class*="st-key-mistakes_gallery_open_"] button').first
    opener.wait_for(timeout=WAIT_MS)
    opener.click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_text(re.compile(r"^1 of \d+:")).wait_for(timeout=WAIT_MS)
    dialog.get_by_text("Leakage:").wait_for(timeout=WAIT_MS)
    n_maps = len(artifacts.available_models())  # the large image, then at least a map per model
    dialog.locator('[data-testid="stImage"]').nth(n_maps).wait_for(timeout=WAIT_MS)
    first = dialog.locator("h3").first.inner_text()
    _no_exception(page)
    _screenshot(page, "detail")
    for button, position in (("Next →", 2), ("Next →", 3), ("← Previous", 2)):
        dialog.get_by_role("button", name=button).click()
        dialog.get_by_text(re.compile(rf"^{position} of \d+:")).wait_for(timeout=WAIT_MS)
    assert dialog.locator("h3").first.inner_text() != first
    assert len(page.context.pages) == 1 and page.url.rstrip("/").endswith("/mistakes")  # no new tab
    _no_exception(page)
    page.keyboard.press("Escape")
    dialog.wait_for(state="detached", timeout=WAIT_MS)
    assert folder_field.input_value() == typed  # the sidebar as the user left it
    assert page.get_by_role("radio", name=re.compile("Clean subset")).is_checked()


def test_the_app_follows_a_dark_system_theme(server, page):
    url, _ = server
    page.emulate_media(color_scheme="dark")
    try:
        _open(page, url, "")
        background = page.locator('[data-testid="stApp"]').evaluate(
            "e => getComputedStyle(e).backgroundColor"
        )
        red, green, blue = (int(v) for v in background[background.index("(") + 1 : -1].split(",")[:3])
        assert max(red, green, blue) < 80, background
        page.locator(".js-plotly-plot").first.wait_for(timeout=WAIT_MS)
        _no_exception(page)
        _screenshot(page, "overview-dark")
    finally:
        page.emulate_media(color_scheme="light")
