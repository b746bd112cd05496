"""In headless Chromium: the Overview's "Download report" gives an HTML file that draws offline.

Set SCREENSHOT_DIR to keep a screenshot of the opened report (report.png).
"""

import os
from pathlib import Path

import pytest

from benchmarks.cold_start import CHROMIUM, LAST, TITLE, WAIT_MS, browser_page, streamlit_server
from core import artifacts
from core.data import subsets
from core.evaluation import compare, verdict
from core.report import document

pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists(), reason="no Chromium to drive: apt-get install chromium"
)


def _headline() -> str:
    """The verdict's headline, as core.evaluation.verdict words it for the shipped artifacts."""
    names = artifacts.available_models()
    titles = {name: artifacts.load_config(name).display_name for name in names}
    joined = compare.joined_predictions({name: artifacts.load_predictions(name) for name in names})
    clean = frozenset(subsets.clean_test_paths(artifacts.load_audit()))
    runs = {name: artifacts.load_run_predictions(name) for name in names[:2]}
    return verdict.headline(verdict.build(joined, names, clean, runs), titles)


def test_the_downloaded_report_opens_offline_with_its_figures_and_verdict(tmp_path):
    with browser_page() as page:
        with streamlit_server() as (url, _):
            page.goto(url)
            page.get_by_role("heading", name=TITLE).wait_for(timeout=WAIT_MS)
            button = page.get_by_role("button", name="Download report")
            button.wait_for(timeout=WAIT_MS)
            with page.expect_download(timeout=WAIT_MS) as download:
                button.click()
            assert download.value.suggested_filename == document.FILE_NAME
            saved = tmp_path / document.FILE_NAME
            download.value.save_as(saved)
            # Let the Overview's script end, and leave it: a server stops slowly mid-run.
            page.get_by_text(LAST).wait_for(timeout=WAIT_MS)
            assert page.locator('[data-testid="stException"]').count() == 0
            page.goto("about:blank")

        # No network from here on: the server is gone, the browser offline, any request recorded.
        page.context.set_offline(True)
        requests = []
        page.on("request", lambda request: requests.append(request.url))
        page.goto(saved.as_uri())
        plots = page.locator(".js-plotly-plot")
        plots.first.wait_for(timeout=WAIT_MS)
        expected = saved.read_text(encoding="utf-8").count('class="plotly-graph-div"')
        assert 0 < plots.count() == expected
        assert page.locator(".js-plotly-plot .main-svg").count() >= expected  # drawn, not just placed
        page.get_by_text(_headline()).first.wait_for(timeout=WAIT_MS)
        assert [url for url in requests if not url.startswith("file:")] == []
        if os.environ.get("SCREENSHOT_DIR"):
            folder = Path(os.environ["SCREENSHOT_DIR"])
            folder.mkdir(parents=True, exist_ok=True)
            page.wait_for_timeout(1500)  # let the figures settle into their cells
            page.screenshot(path=str(folder / "report.png"), full_page=True)
