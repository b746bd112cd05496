"""Cold start of the dashboard: seconds from `streamlit run` until its first page is shown.

CLI: python -m benchmarks.cold_start [--starts N]
starts the app N times on a free port, with headless Chromium already open (as a user's browser
is), and times each start until the Overview's title appears and until the page is complete
(its last caption drawn). Prints the runs and writes artifacts/benchmark_cold_start.json.
Needs Chromium (`apt-get install chromium`).
"""

import contextlib
import shutil
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from benchmarks.inference import save, target
from core import artifacts, cli, machine, paths

TARGET_S = 5.0  # first page complete after `streamlit run`
TITLE = "Transfer learning vs training from scratch"  # the Overview's heading
LAST = "Always on the full test set"  # the Overview's last caption: drawn when the script ends
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
WAIT_MS = 90_000


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def streamlit_server(timeout_s: float = 60, script: str = "streamlit_app.py") -> Iterator[tuple[str, float]]:
    """`streamlit run streamlit_app.py` (or `script`, run from the project) on a free port; yields
    (url, perf_counter at launch).

    Raises:
        TimeoutError: the server did not answer its health check within `timeout_s`.
    """
    port = _free_port()
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", script, "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true"],
        cwd=paths.ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                urllib.request.urlopen(f"{url}/_stcore/health", timeout=1)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"streamlit did not start within {timeout_s:.0f} s") from None
                time.sleep(0.1)
        yield url, started
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:  # e.g. still warming the models (pages/ui/warm.py)
            process.kill()
            process.wait()


@contextlib.contextmanager
def browser_page() -> Iterator:
    """A page in headless Chromium (playwright driving the system's Chromium)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser.new_page(viewport={"width": 1500, "height": 1100})
        finally:
            browser.close()


def first_page_times(page, url: str, started: float) -> dict[str, float]:
    """Open the app's first page; seconds from `started` to its title and to the complete page."""
    page.goto(url)
    page.get_by_role("heading", name=TITLE).wait_for(timeout=WAIT_MS)
    title_s = time.perf_counter() - started
    page.get_by_text(LAST).wait_for(timeout=WAIT_MS)
    return {"title_s": title_s, "complete_s": time.perf_counter() - started}


def summary(runs: list[dict[str, float]]) -> dict:
    """Median and worst of each time over the starts, and the target on the median complete page."""
    result = {
        key: {"median": statistics.median(run[key] for run in runs), "max": max(run[key] for run in runs)}
        for key in ("title_s", "complete_s")
    }
    result["targets"] = [
        target(
            "first page complete after `streamlit run`", result["complete_s"]["median"], "<=", TARGET_S, "s"
        )
    ]
    return result


def main(argv: list[str] | None = None) -> None:
    parser = cli.parser(__doc__.splitlines()[0], models=False)
    parser.add_argument("--starts", type=int, default=5, help="how many times to start the app")
    args = parser.parse_args(argv)
    info = machine.facts()
    runs = []
    with browser_page() as page:
        for start in range(1, args.starts + 1):
            with streamlit_server() as (url, started):
                runs.append(first_page_times(page, url, started))
            print(
                f"start {start}: title {runs[-1]['title_s']:.2f} s, complete {runs[-1]['complete_s']:.2f} s"
            )
    result = {
        "machine": info,
        "starts": args.starts,
        "runs": runs,
    } | summary(runs)
    goal = result["targets"][0]
    print(
        f"median: title {result['title_s']['median']:.2f} s, complete {result['complete_s']['median']:.2f} s "
        f"(target <= {goal['limit']:g} s: {'met' if goal['met'] else 'MISSED'})"
    )
    save(Path(args.artifacts) / artifacts.COLD_START_FILE, result)


if __name__ == "__main__":
    cli.run(main)
