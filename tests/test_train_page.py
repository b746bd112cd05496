"""The Train page: AppTest and headless Chromium start short runs of the custom CNN on tiny images.

Runs, decoded images and (for promotion) the shipped artifacts all live in tmp folders here.
"""

import os
import re
import shutil
import time
from pathlib import Path

import pytest
import streamlit as st
from test_app import open_page
from test_browser import _no_exception, _screenshot

from benchmarks.cold_start import CHROMIUM, WAIT_MS, browser_page, streamlit_server
from conftest import worse_copy, write_dataset
from core import artifacts, paths
from core.data.cache import CACHE_ENV_VAR
from core.training import presets, promotion, runs

PAGE = "pages/train.py"
TIMEOUT_S = 120


def _folders(tmp_path: Path, monkeypatch):
    """A tiny dataset, a runs folder, a decode cache and an artifacts folder holding a copy of the
    shipped custom CNN, all in `tmp_path` and named by the environment variables the app reads."""
    data = write_dataset(tmp_path / "data")
    shipped = tmp_path / "artifacts"
    shutil.copytree(paths.ARTIFACTS_DIR / "custom_cnn", shipped / "custom_cnn")
    shutil.copy(paths.ARTIFACTS_DIR / artifacts.BENCHMARK_FILE, shipped)
    monkeypatch.setenv(paths.DATA_ENV_VAR, str(data))
    monkeypatch.setenv(paths.RUNS_ENV_VAR, str(tmp_path / "runs"))
    monkeypatch.setenv(paths.ARTIFACTS_ENV_VAR, str(shipped))
    monkeypatch.setenv(CACHE_ENV_VAR, str(tmp_path / "decode-cache"))
    st.cache_data.clear()  # the loaders read the tmp artifacts, not what other tests cached
    yield {"data": data, "runs": tmp_path / "runs", "artifacts": shipped}
    if (going := runs.active_run(tmp_path / "runs")) is not None:
        runs.cancel(going)
    st.cache_data.clear()  # nor do later tests see them
    st.cache_resource.clear()


@pytest.fixture
def folders(tmp_path, monkeypatch) -> dict[str, Path]:
    yield from _folders(tmp_path, monkeypatch)


def _button(app, label: str):
    return next(button for button in app.button if button.label == label)


def _badges(app) -> str:
    return " ".join(markdown.value for markdown in app.markdown)


def test_the_page_offers_each_preset_with_its_command(folders):
    app = open_page(PAGE, data_dir=str(folders["data"]))
    assert app.title[0].value == "Train"
    assert app.radio[0].options == [preset.title for preset in presets.PRESETS.values()]
    placeholder = str(folders["runs"] / "<run id>" / "artifacts")
    planned = presets.PRESETS["demo"].command_lines(placeholder, str(folders["data"]))
    assert app.code[0].value == planned[0]
    app.radio[0].set_value("full").run()
    assert app.code[0].value.count("python -m core train") == len(presets.PRESETS["full"].steps)
    assert not _button(app, "Start").disabled
    assert not app.progress  # no run yet
    assert list(app.dataframe[0].value["run"]) == [promotion.SHIPPED]


def test_start_shows_the_progress_then_the_finished_run_which_promotes(folders):
    app = open_page(PAGE, data_dir=str(folders["data"]))
    _button(app, "Start").click().run()
    assert not app.exception, [e.message for e in app.exception]
    run = runs.active_run()
    assert run is not None and run.models == ("custom_cnn",)
    assert app.progress and ":blue-badge[running]" in _badges(app)
    assert _button(app, "Start").disabled  # one run at a time
    deadline = time.monotonic() + TIMEOUT_S
    while runs.load_run(run.folder).status == runs.RUNNING:
        assert time.monotonic() < deadline
        time.sleep(0.5)
    app.run()
    assert not app.exception, [e.message for e in app.exception]
    assert ":green-badge[finished]" in _badges(app)
    assert app.progress[0].value == 100  # percent
    assert "2 of at most 2 epochs" in app.progress[0].proto.text
    assert len(app.get("plotly_chart")) == 2  # accuracy and loss curves from the progress records
    assert list(app.dataframe[0].value["run"]) == [promotion.SHIPPED, run.id]

    shipped = artifacts.load_manifest("custom_cnn", folders["artifacts"])
    assert "scored on another dataset" in _badges(app)  # the shipped CNN's dataset is not the run's
    app.button(key=f"promote-{run.id}-custom_cnn").click().run()
    assert not app.exception, [e.message for e in app.exception]
    assert not app.error, [e.value for e in app.error]
    message = app.success[0].value
    assert f"holds custom_cnn from run {run.id}" in message and artifacts.BENCHMARK_FILE in message
    assert "Restore puts it back" in message
    promoted = artifacts.load_manifest("custom_cnn", folders["artifacts"])
    assert promoted == artifacts.load_manifest("custom_cnn", run.artifacts)

    # a second run, worse on validation than the one now shipped: refused unless overridden
    worse = runs.load_run(worse_copy(run.folder, folders["runs"] / f"{run.id}-worse"))
    app.run()
    assert "Worse on validation than the shipped custom_cnn (-" in _badges(app)
    change = next(frame.value for frame in app.dataframe if "change (points)" in frame.value)
    assert change["figure"].tolist()[0] == "validation accuracy" and change["new"].tolist()[0] == 0.0
    button = app.button(key=f"promote-{worse.id}-custom_cnn")
    assert button.disabled
    app.checkbox(key=f"override-{worse.id}-custom_cnn").check().run()
    app.button(key=f"promote-{worse.id}-custom_cnn").click().run()
    assert not app.exception and not app.error and f"from run {worse.id}" in app.success[0].value
    assert promotion.Scores.read("custom_cnn", folders["artifacts"]).validation_accuracy == 0.0

    # the version it replaced (the first run's) restores, and the shipped one before it is listed too
    versions = promotion.replaced(folders["artifacts"])
    assert [v.scores.validation_accuracy > 0 for v in versions] == [True, True]
    app.button(key=f"restore-{versions[0].root.name}").click().run()
    assert not app.exception and not app.error and "the version replaced" in app.success[0].value
    assert artifacts.load_manifest("custom_cnn", folders["artifacts"]) == promoted
    assert shipped != promoted and len(promotion.replaced(folders["artifacts"])) == 2


def test_seeds_chosen_on_the_page_go_into_every_command(folders):
    app = open_page(PAGE, data_dir=str(folders["data"]))
    app.radio[0].set_value("full").run()
    seeds = next(box for box in app.number_input if box.label == "Seeds per model")
    assert seeds.value is None and "3 of MobileNetV2" in seeds.proto.placeholder
    seeds.set_value(2).run()
    assert app.code[0].value.count("--seeds 2") == len(presets.PRESETS["full"].steps)


def test_a_damaged_run_folder_is_listed_naming_its_file(folders):
    (folders["runs"] / "20260101-000000-demo").mkdir(parents=True)
    app = open_page(PAGE, data_dir=str(folders["data"]))
    assert not app.exception
    warned = " ".join(w.value for w in app.warning)
    assert f"{folders['runs'] / '20260101-000000-demo'}: run.json is missing" in warned


def test_cancel_on_the_page_stops_the_run(folders):
    app = open_page(PAGE, data_dir=str(folders["data"]))
    _button(app, "Start").click().run()
    run = runs.active_run()
    _button(app, "Cancel run").click().run()
    assert not app.exception, [e.message for e in app.exception]
    assert runs.load_run(run.folder).status == runs.CANCELLED
    assert ":gray-badge[cancelled]" in _badges(app)
    assert not _button(app, "Start").disabled


def test_start_without_a_dataset_says_where_it_looked(folders, tmp_path):
    app = open_page(PAGE, data_dir=str(tmp_path / "nowhere"))
    _button(app, "Start").click().run()
    assert f"no Training/ folder in {tmp_path / 'nowhere'}" in app.error[0].value
    assert runs.list_runs() == []


@pytest.fixture
def project_folders(monkeypatch):
    """`folders`, inside the project's runs/ folder: the page (and its screenshot) show them relative."""
    inside = paths.RUNS_DIR / f".browser-test-{os.getpid()}"
    yield from _folders(inside, monkeypatch)
    shutil.rmtree(inside, ignore_errors=True)


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="no Chromium to drive: apt-get install chromium")
def test_in_a_browser_the_progress_bar_follows_the_run_to_its_end(project_folders):
    with browser_page() as page, streamlit_server() as (url, _):  # the server inherits the tmp folders
        page.goto(f"{url}/train")
        page.get_by_role("heading", name="Train").wait_for(timeout=WAIT_MS)
        page.get_by_role("button", name="Start").click()
        page.locator('[data-testid="stProgress"]').wait_for(timeout=WAIT_MS)
        # the fragment redraws it every few seconds, with no click: the epochs arrive, then the end
        page.get_by_text(re.compile(r"custom_cnn \(seed 42\), train phase: epoch \d")).wait_for(
            timeout=WAIT_MS
        )
        page.get_by_text("finished", exact=True).wait_for(timeout=WAIT_MS)
        _no_exception(page)
        _screenshot(page, "train")
    (run,) = runs.list_runs()
    assert run.status == runs.FINISHED
