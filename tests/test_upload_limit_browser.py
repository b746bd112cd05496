"""The per-file upload limit as a user meets it: headless Chromium against `streamlit run`.

AppTest hands files to the page directly, past the uploader, so only a browser sees the limit.
"""

import re
from pathlib import Path

import pytest

from benchmarks.cold_start import CHROMIUM, WAIT_MS, browser_page, streamlit_server
from core import paths

pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists(), reason="no Chromium to drive: apt-get install chromium"
)


def test_a_file_over_the_upload_limit_is_refused_with_a_message_and_not_classified():
    config = (paths.ROOT / ".streamlit" / "config.toml").read_text()
    max_mb = int(re.search(r"^maxUploadSize = (\d+)$", config, re.MULTILINE).group(1))
    too_big = b"\x89PNG\r\n\x1a\n" + bytes((max_mb + 1) * 1024 * 1024)
    with browser_page() as page, streamlit_server() as (url, _):
        page.goto(f"{url}/predict")
        page.get_by_role("heading", name="Live prediction").wait_for(timeout=WAIT_MS)
        page.get_by_text(f"{max_mb} MB per file").wait_for(timeout=WAIT_MS)  # stated on the page
        page.locator('input[type="file"]').first.set_input_files(
            {"name": "huge.png", "mimeType": "image/png", "buffer": too_big}
        )
        page.get_by_text(re.compile(rf"File must be {max_mb}(\.0)? ?MB or smaller")).wait_for(timeout=WAIT_MS)
        page.wait_for_timeout(1000)
        assert page.locator('[data-testid="stMetricLabel"]').count() == 0  # no prediction
        assert page.locator('[data-testid="stException"]').count() == 0
