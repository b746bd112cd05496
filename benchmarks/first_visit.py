"""Each page's first visit, in the browser: seconds from a click on its link until it is drawn.

CLI: python -m benchmarks.first_visit [--pause S]
starts the app, opens the Overview in headless Chromium, waits `--pause` seconds (a reader on the
first page; the models warm meanwhile, see pages/ui/warm.py), then clicks through every page of
the navigation in order, as a user would, timing each until its title is shown and until the
script has finished (Streamlit's "running" indicator gone). The image detail view, which has no
link, is opened by its address. Writes artifacts/benchmark_first_visit.json.
"""

import time
from pathlib import Path
from urllib.parse import quote

from benchmarks.cold_start import WAIT_MS, browser_page, first_page_times, streamlit_server
from benchmarks.inference import save
from core import artifacts, cli, machine

PAGES = (  # link in the navigation -> the page's title
    ("Confusion matrices", "Confusion matrices"),
    ("Training curves", "Training curves"),
    ("Train", "Train"),
    ("Grad-CAM", "Grad-CAM: where each model looks"),
    ("Misclassified explorer", "Misclassified explorer"),
    ("Calibration", "Calibration"),
    ("ROC & operating points", "ROC and operating points"),
    ("Leakage audit", "Leakage audit"),
    ("Generalisation", "Generalisation"),
    ("Efficiency", "Efficiency"),
    ("Live prediction", "Live prediction"),
)
RUNNING = '[data-testid="stStatusWidget"]'  # shown while a page's script runs


QUIET_S = 2.0  # the indicator hidden this long: the page is complete


def _drawn(page, title: str, clicked: float) -> dict[str, float]:
    """Seconds from `clicked` to the page's title, and to the last moment its script was running."""
    page.get_by_role("heading", name=title, exact=True).wait_for(timeout=WAIT_MS)
    title_at = last_running = time.perf_counter()
    running = page.locator(RUNNING)
    while time.perf_counter() - last_running < QUIET_S:  # the indicator shows with a delay
        if running.is_visible():
            last_running = time.perf_counter()
        page.wait_for_timeout(50)
    return {"title_s": round(title_at - clicked, 2), "complete_s": round(last_running - clicked, 2)}


def main(argv: list[str] | None = None) -> None:
    parser = cli.parser(__doc__.splitlines()[0], models=False)
    parser.add_argument("--pause", type=float, default=10.0, help="seconds spent on the Overview first")
    args = parser.parse_args(argv)
    info = machine.facts()
    first_image = artifacts.load_predictions(artifacts.available_models()[0])["path"].iloc[0]
    visits = {}
    with browser_page() as page, streamlit_server() as (url, started):
        visits["Overview"] = {k: round(v, 2) for k, v in first_page_times(page, url, started).items()}
        page.wait_for_timeout(args.pause * 1000)
        navigation = page.locator('[data-testid="stSidebarNav"]')
        for link, title in PAGES:
            clicked = time.perf_counter()
            navigation.get_by_text(link, exact=True).click()
            visits[link] = _drawn(page, title, clicked)
        clicked = time.perf_counter()
        page.goto(f"{url}/image?path={quote(first_image)}")
        visits["Image detail"] = _drawn(page, "Image detail", clicked)
    for name, times in visits.items():
        print(f"{name:24s} title {times['title_s']:5.2f} s, complete {times['complete_s']:5.2f} s")
    result = {"machine": info, "pause_s": args.pause, "pages": visits}
    save(Path(args.artifacts) / artifacts.FIRST_VISIT_FILE, result)


if __name__ == "__main__":
    cli.run(main)
