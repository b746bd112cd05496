"""Soak and upload latency of the dashboard: one long browser session, new sessions, several users at once.

CLI: python -m benchmarks.soak [--uploads N] [--sessions S] [--concurrent K] [--rounds R]
                                [--data DIR] [--artifacts DIR]
starts `streamlit run` and drives it with headless Chromium (the system's, as benchmarks.cold_start).
One session makes N single uploads on the Live prediction page (Testing images, cycling through
the classes) with a Grad-CAM visit every 10 uploads and a batch of 10 files every 15 (the mix of
issue 14, scaled), and records the server's resident memory (its whole process tree, from /proc)
every 25 uploads and each upload's two times from setting the file input: until every model's
answer is on screen, and until the page has finished (the script run over, so the slower extras,
the nearest training images' check among them, are drawn too). Then S new sessions upload one
image each, one after another (the first upload of a session). Then K pages upload at once, R
times: each upload's time to the answers, the labels shown (against the true class, and against
each model's label for that image in predictions.csv, which a label mixed up between users would
not match) and the inference and waiting times the page shows. Prints a table and writes
artifacts/benchmark_soak.json.
Never a test: timings depend on the machine and its load (recorded with the results).
"""

import itertools
import os
import re
import statistics
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from benchmarks.cold_start import WAIT_MS, browser_page, streamlit_server
from benchmarks.inference import save, target
from core import artifacts, cli, machine, paths
from core.data.dataset import CLASS_NAMES, CLASS_TITLES, TEST_SPLIT, Sample, find_samples
from core.serving.gradcam import NO_MAPS

TARGET_GROWTH_MIB = 50.0  # resident memory gained after warm-up, over the whole soak
TARGET_LATENCY_S = 0.5  # median, from setting the file input to every model's answer on screen
TARGET_FIRST_S = 1.0  # the same for a session's first upload (median over new sessions)
TARGET_CONCURRENT_RATIO = 2.0  # K users at once: median answer within this many times one user's
PREDICT_TITLE, GRADCAM_TITLE = "Live prediction", "Grad-CAM: where each model looks"
PREDICTION = "Prediction"  # the label of each model's metric on the Live prediction page
TIMING = re.compile(r"(\d+) ms inference, (\d+) ms waiting")  # core.serving.predict.shown_time

# The result of the upload named `name` on screen: its caption and a `label` metric per model, all
# from the current script run (Streamlit marks the elements of the run before as data-stale).
RESULT_JS = """([name, models, label]) => {
  const fresh = [...document.querySelectorAll(
    '[data-testid="stElementContainer"]:not([data-stale="true"])')];
  const captioned = fresh.some(c => [...c.querySelectorAll('[data-testid="stImageCaption"]')]
    .some(caption => caption.textContent.trim() === name));
  const metrics = fresh.map(c => c.querySelector('[data-testid="stMetric"]'))
    .filter(m => m && m.querySelector('[data-testid="stMetricLabel"]').textContent.includes(label));
  if (!captioned || metrics.length < models) return null;
  const below = m => (m.closest('[data-testid="stElementContainer"]').nextElementSibling
    || {textContent: ''}).textContent.trim();  // the caption under the metric: its timing
  return metrics.map(m => [m.querySelector('[data-testid="stMetricValue"]').textContent.trim(), below(m)]);
}"""
# Records in window.__soak when (Date.now(), ms since the epoch) that result first appears, and in
# window.__running the last moment Streamlit's "running" indicator was on screen (sampled every 25 ms).
WATCH_JS = (
    "(args) => { const result = "
    + RESULT_JS
    + """;
  window.__soak = null;
  window.__running = 0;
  clearInterval(window.__runningSampler);
  window.__runningSampler = setInterval(() => {
    const indicator = document.querySelector('[data-testid="stStatusWidget"]');
    if (indicator && indicator.getClientRects().length) window.__running = Date.now();
  }, 25);
  const observer = new MutationObserver(() => {
    const shown = result(args);
    if (shown) { window.__soak = {at: Date.now(), shown}; observer.disconnect(); }
  });
  observer.observe(document.body, {subtree: true, childList: true, attributes: true, characterData: true});
}"""
)
# The page has finished once the indicator has stayed off `quiet` ms since the answers or its last showing.
# Streamlit shows it after 0.5 s of running, so a run over within 0.5 s counts as finished with its answers.
FINISHED_JS = """(quiet) => window.__soak !== null
  && Date.now() - Math.max(window.__soak.at, window.__running) >= quiet"""
QUIET_MS = 2000
FRESH = '[data-testid="stElementContainer"]:not([data-stale="true"])'  # of the current script run
FRESH_IMAGES_JS = f"""(count) =>
  document.querySelectorAll('{FRESH} [data-testid="stImage"]').length >= count"""
# Grad-CAM has answered an upload: its input and map for each model, or, for an upload the guards
# refuse, the note that it draws no maps.
GRADCAM_ANSWERED_JS = f"""([count, note]) => ({FRESH_IMAGES_JS})(count)
  || [...document.querySelectorAll('{FRESH}')].some(element => element.textContent.includes(note))"""


@dataclass(frozen=True)
class Step:
    """One thing the soak session does, in order."""

    kind: str  # "upload", "gradcam", "batch" or "memory"
    uploads_done: int  # single uploads made before this step


def schedule(uploads: int, gradcam_every: int, batch_every: int, memory_every: int) -> list[Step]:
    """The soak session's steps: uploads, with visits, batches and memory samples in between.

    Memory is sampled before the first upload, after every `memory_every` uploads and at the end.
    """
    steps = [Step("memory", 0)]
    for done in range(1, uploads + 1):
        steps.append(Step("upload", done - 1))
        for kind, every in (("gradcam", gradcam_every), ("batch", batch_every), ("memory", memory_every)):
            if every and done % every == 0:
                steps.append(Step(kind, done))
    if uploads % memory_every:
        steps.append(Step("memory", uploads))
    return steps


def cycled(samples: list[Sample], count: int) -> list[Sample]:
    """`count` samples taking the classes in turn (glioma, meningioma, ...), each class in order."""
    by_class = [[s for s in samples if s.label == label] for label in range(len(CLASS_NAMES))]
    turns = itertools.cycle([iter(itertools.cycle(group)) for group in by_class if group])
    return [next(next(turns)) for _ in range(count)]


def latency_summary(seconds: list[float]) -> dict[str, float]:
    """Count, median, 95th percentile and worst of some latencies in seconds."""
    if not seconds:
        return {"n": 0}
    return {
        "n": len(seconds),
        "median_s": statistics.median(seconds),
        "p95_s": float(np.percentile(seconds, 95)),
        "max_s": max(seconds),
    }


def memory_growth(samples: list[dict], warmup: int) -> float:
    """MiB gained from the first sample taken after `warmup` uploads (the last one if none) to the last."""
    after = [s for s in samples if s["uploads"] >= warmup] or samples[-1:]
    return samples[-1]["rss_mib"] - after[0]["rss_mib"]


def shown_timing(caption: str) -> dict[str, int] | None:
    """The inference and waiting milliseconds in the caption under a Prediction, if it shows them."""
    found = TIMING.search(caption)
    return {"inference_ms": int(found[1]), "wait_ms": int(found[2])} if found else None


def evaluated_labels(root: Path) -> list[dict[str, str]]:
    """Each model's label for every test image when it was evaluated (predictions.csv), in page order."""
    tables = [artifacts.load_predictions(name, root) for name in artifacts.available_models(root)]
    return [dict(zip(table["path"], table["predicted_label"])) for table in tables]


def judged(labels: list[str], sample: Sample, evaluated: list[dict[str, str]]) -> dict[str, bool]:
    """Whether the labels shown are the true class, and whether each is the one its model gave this
    image when evaluated (the app predicts the same; a label mixed up between users would not be)."""
    truth = CLASS_TITLES[CLASS_NAMES[sample.label]]
    expected = [CLASS_TITLES.get(labels_of.get(sample.relpath, ""), "?") for labels_of in evaluated]
    return {"right": all(label == truth for label in labels), "as_evaluated": labels == expected}


def children_of() -> dict[int, list[int]]:
    """Every running process's children, from /proc."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()  # after "pid (comm)"
        except OSError:  # ended meanwhile
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    return children


def process_tree(pid: int) -> list[int]:
    """`pid` and all its descendants."""
    children, tree = children_of(), [pid]
    for parent in tree:
        tree += children.get(parent, [])
    return tree


def resident_mib(pids: list[int]) -> float:
    """The summed resident memory (VmRSS) of `pids`, in MiB; processes gone meanwhile count 0."""
    total_kb = 0
    for pid in pids:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        found = re.search(r"^VmRSS:\s+(\d+) kB", status, re.MULTILINE)
        total_kb += int(found[1]) if found else 0
    return total_kb / 1024


def cpu_seconds(pids: list[int]) -> float:
    """The user and system CPU seconds `pids` have used (from /proc); processes gone meanwhile count 0."""
    ticks = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += int(fields[11]) + int(fields[12])  # utime and stime, fields 14 and 15 of stat
    return ticks / os.sysconf("SC_CLK_TCK")


def machine_cpu_seconds() -> float:
    """CPU seconds every core of the machine has spent busy since boot (from /proc/stat)."""
    user, nice, system, _idle, _iowait, irq, softirq, steal = map(
        int, Path("/proc/stat").read_text().split()[1:9]
    )
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def server_pid() -> int:
    """The `streamlit run` this process started (benchmarks.cold_start.streamlit_server)."""
    for pid in process_tree(os.getpid())[1:]:
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"streamlit" in command and b"run" in command:
            return pid
    raise RuntimeError("no `streamlit run` among this process's children")


def _as_upload(sample: Sample, name: str) -> dict:
    return {"name": name, "mimeType": "image/jpeg", "buffer": sample.path.read_bytes()}


def _navigate(page, title: str, heading: str) -> None:
    """Go to another page through the sidebar: the same Streamlit session, as a user would."""
    page.locator('[data-testid="stSidebarNav"]').get_by_text(title, exact=True).click()
    page.get_by_role("heading", name=heading).wait_for(timeout=WAIT_MS)


def start_upload(page, sample: Sample, name: str, models: int) -> float:
    """Watch for the result, then set the single-upload input; returns when it was set (epoch s)."""
    page.evaluate(WATCH_JS, [name, models, PREDICTION])
    started = time.time()
    page.locator('.st-key-single_upload input[type="file"]').set_input_files(_as_upload(sample, name))
    return started


def finished_upload(page, sample: Sample, started: float, evaluated: list[dict[str, str]]) -> dict:
    """The result of start_upload once the page has finished: seconds to every answer on screen and
    to the page finished, the labels shown and whether they are right."""
    page.wait_for_function(FINISHED_JS, arg=QUIET_MS, timeout=WAIT_MS)
    shown, running = page.evaluate("() => [window.__soak, window.__running]")
    answered = shown["at"] / 1000
    labels = [label for label, _ in shown["shown"]]
    return {
        "file": sample.relpath,
        "answer_s": answered - started,
        "finished_s": max(answered, running / 1000) - started,
        "labels": labels,
        **judged(labels, sample, evaluated),
        "timings": [shown_timing(caption) for _, caption in shown["shown"]],
    }


def _counts(uploads: list[dict]) -> dict:
    """Summaries of the times to the answers and to the page finished, and label counts, of some uploads."""
    return {
        "answer": latency_summary([u["answer_s"] for u in uploads]),
        "finished": latency_summary([u["finished_s"] for u in uploads]),
        "right": sum(u["right"] for u in uploads),
        "as_evaluated": sum(u["as_evaluated"] for u in uploads),
    }


def first_uploads(
    page, url: str, images: Iterator[Sample], sessions: int, evaluated: list[dict[str, str]]
) -> dict:
    """`sessions` new sessions in turn, each opening Live prediction and uploading one image once
    the page has finished (a user who arrives, then uploads)."""
    uploads, errors = [], []
    for session in range(sessions):
        fresh = page.context.browser.new_page()
        try:
            fresh.goto(f"{url}/predict")
            fresh.get_by_role("heading", name=PREDICT_TITLE).wait_for(timeout=WAIT_MS)
            fresh.wait_for_timeout(QUIET_MS)  # the page drawn, as a user sees it before uploading
            sample = next(images)
            started = start_upload(fresh, sample, f"first-{session:02d}.jpg", len(evaluated))
            uploads.append(finished_upload(fresh, sample, started, evaluated))
        except Exception as error:  # noqa: BLE001
            errors.append(f"session {session}: {type(error).__name__}: {error}")
        finally:
            fresh.close()
    return {"sessions": sessions, "uploads": uploads, **_counts(uploads), "errors": errors}


def gradcam_visit(page, sample: Sample, name: str, models: int) -> float:
    """Open Grad-CAM, explain an upload with both models, come back; returns seconds taken."""
    start = time.perf_counter()
    _navigate(page, "Grad-CAM", GRADCAM_TITLE)
    page.wait_for_function(FRESH_IMAGES_JS, arg=2 * models, timeout=WAIT_MS)  # a test image first
    page.locator('[data-testid="stButtonGroup"]').get_by_text("Upload", exact=True).click()
    page.locator('input[type="file"]').wait_for(state="attached", timeout=WAIT_MS)
    page.wait_for_function("() => !document.querySelector('[data-testid=\"stImage\"]')", timeout=WAIT_MS)
    page.locator('input[type="file"]').set_input_files(_as_upload(sample, name))
    page.wait_for_function(GRADCAM_ANSWERED_JS, arg=[2 * models, NO_MAPS], timeout=WAIT_MS)
    seconds = time.perf_counter() - start
    _navigate(page, "Live prediction", PREDICT_TITLE)
    return seconds


def batch_upload(page, samples: list[Sample], prefix: str) -> float:
    """Classify a batch on the Batch tab, then leave and come back (which empties the uploader, so
    the single uploads that follow do not reclassify it on every rerun); returns seconds taken."""
    page.get_by_role("tab", name="Batch").click()
    files = [_as_upload(sample, f"{prefix}-{i:02d}-{sample.path.name}") for i, sample in enumerate(samples)]
    start = time.perf_counter()
    page.locator('.st-key-batch_upload input[type="file"]').set_input_files(files)
    page.locator(f'{FRESH} [data-testid="stDataFrame"]').wait_for(timeout=WAIT_MS)
    seconds = time.perf_counter() - start
    _navigate(page, "Training curves", "Training curves")
    _navigate(page, "Live prediction", PREDICT_TITLE)
    return seconds


def soak(page, url: str, images: Iterator[Sample], args, evaluated: list[dict[str, str]]) -> dict:
    """The long session: uploads with Grad-CAM visits, batches and memory samples in between."""
    server, models = server_pid(), len(evaluated)
    page.goto(f"{url}/predict")
    page.get_by_role("heading", name=PREDICT_TITLE).wait_for(timeout=WAIT_MS)
    uploads, memory, gradcam_s, batch_s, errors = [], [], [], [], []
    steps = schedule(args.uploads, args.gradcam_every, args.batch_every, args.memory_every)
    for number, step in enumerate(steps):
        name = f"soak-{number:04d}.jpg"  # unique, so each result is told from the one before
        try:
            if step.kind == "upload":
                sample = next(images)
                started = start_upload(page, sample, name, models)
                uploads.append(finished_upload(page, sample, started, evaluated))
            elif step.kind == "gradcam":
                gradcam_s.append(gradcam_visit(page, next(images), name, models))
            elif step.kind == "batch":
                batch_s.append(batch_upload(page, [next(images) for _ in range(args.batch_size)], name))
            else:
                rss = resident_mib(process_tree(server))
                memory.append({"uploads": step.uploads_done, "rss_mib": rss})
                print(f"after {step.uploads_done} uploads: server {rss:.0f} MiB", flush=True)
        except Exception as error:  # noqa: BLE001 (a soak records a failure and goes on)
            errors.append(f"{step.kind} after {step.uploads_done} uploads: {type(error).__name__}: {error}")
            print(f"error: {errors[-1]}", flush=True)
            page.goto(f"{url}/predict")  # a new session: the soak goes on from a known state
            page.get_by_role("heading", name=PREDICT_TITLE).wait_for(timeout=WAIT_MS)
    if page.locator('[data-testid="stException"]').count():
        errors.append("an exception is shown on the page")
    return {
        "uploads": uploads,
        **_counts(uploads),
        "memory": memory,
        "memory_growth_mib": memory_growth(memory, args.warmup),
        "gradcam": latency_summary(gradcam_s),
        "batches": latency_summary(batch_s),
        "errors": errors,
    }


def concurrency(
    page, url: str, images: Iterator[Sample], users: int, rounds: int, evaluated: list[dict[str, str]]
) -> dict:
    """`users` pages, each its own Streamlit session, upload at once, `rounds` times."""
    pages = [page.context.browser.new_page() for _ in range(users)]  # a context each, as users have
    for each in pages:
        each.goto(f"{url}/predict")
    for each in pages:
        each.get_by_role("heading", name=PREDICT_TITLE).wait_for(timeout=WAIT_MS)
    uploads, errors = [], []
    server = process_tree(server_pid())
    server_before, machine_before = cpu_seconds(server), machine_cpu_seconds()
    for round_number in range(rounds):
        chosen = [next(images) for _ in pages]
        started = [
            start_upload(each, sample, f"user{user}-{round_number:03d}.jpg", len(evaluated))
            for user, (each, sample) in enumerate(zip(pages, chosen))
        ]
        for each, sample, start in zip(pages, chosen, started):
            try:
                uploads.append(finished_upload(each, sample, start, evaluated))
            except Exception as error:  # noqa: BLE001
                errors.append(f"round {round_number}: {type(error).__name__}: {error}")
    server_cpu, machine_cpu = cpu_seconds(server) - server_before, machine_cpu_seconds() - machine_before
    for each in pages:
        each.close()
    waits = [t["wait_ms"] for u in uploads for t in u["timings"] if t]
    inference = [t["inference_ms"] for u in uploads for t in u["timings"] if t]
    return {
        "users": users,
        "rounds": rounds,
        "uploads": uploads,
        **_counts(uploads),
        "shown_inference_ms": {"median": statistics.median(inference)} if inference else {},
        "shown_wait_ms": {"median": statistics.median(waits), "max": max(waits)} if waits else {},
        # CPU per upload, the server's and the whole machine's (the browser's pages share its cores)
        "cpu_s_per_upload": {
            "server": server_cpu / max(len(uploads), 1),
            "machine": machine_cpu / max(len(uploads), 1),
        },
        "errors": errors,
    }


def _median(summary: dict) -> float:
    return summary.get("median_s", float("nan"))


def targets(result: dict) -> list[dict]:
    """The targets for memory and upload latency, each with its measured value."""
    soaked, first, together = result["soak"], result["first_uploads"], result["concurrency"]
    one_user = _median(soaked["answer"])
    return [
        target(
            "server memory growth after warm-up", soaked["memory_growth_mib"], "<=", TARGET_GROWTH_MIB, "MiB"
        ),
        target("median upload to every answer on screen, one user", one_user, "<=", TARGET_LATENCY_S, "s"),
        target(
            "median first upload of a session to every answer",
            _median(first["answer"]),
            "<=",
            TARGET_FIRST_S,
            "s",
        ),
        target(
            f"{together['users']} users at once: median upload to every answer, in times one user's",
            _median(together["answer"]) / one_user,
            "<=",
            TARGET_CONCURRENT_RATIO,
            "x",
        ),
    ]


def _seconds(summary: dict) -> str:
    """A latency_summary as "n  median / p95 / max s"."""
    if not summary["n"]:
        return f"{0:>5}  -"
    return f"{summary['n']:>5}  {summary['median_s']:.2f} / {summary['p95_s']:.2f} / {summary['max_s']:.2f} s"


def table(result: dict) -> str:
    """The results as plain text."""
    soaked, first, together, info = (
        result["soak"],
        result["first_uploads"],
        result["concurrency"],
        result["machine"],
    )
    users, batch = together["users"], result["batch_size"]
    memory = ", ".join(f"{m['uploads']}: {m['rss_mib']:.0f}" for m in soaked["memory"])
    shown = lambda key: together[key].get("median", "-")
    lines = [
        f"Soak on {info['cpu']}, {info['cores']} cores, 1-min load {info['load_average_1m']} before and "
        f"{info['load_average_1m_after']} after",
        f"{'':44}{'n':>5}  median / p95 / max",
        f"{'one user: upload to every answer':44}{_seconds(soaked['answer'])}",
        f"{'one user: upload to the page finished':44}{_seconds(soaked['finished'])}",
        f"{'a new session: first upload to every answer':44}{_seconds(first['answer'])}",
        f"{'a new session: first upload to page finished':44}{_seconds(first['finished'])}",
        f"{'one user: Grad-CAM visit with an upload':44}{_seconds(soaked['gradcam'])}",
        f"{f'one user: batch of {batch} files':44}{_seconds(soaked['batches'])}",
        f"{f'{users} users at once: upload to every answer':44}{_seconds(together['answer'])}",
        f"labels as evaluated (predictions.csv): {soaked['as_evaluated']}/{soaked['answer']['n']} alone, "
        f"{together['as_evaluated']}/{together['answer']['n']} with {users} users at once; "
        f"the true class: {soaked['right']} and {together['right']}",
        f"shown under a prediction with {users} users (median): {shown('shown_inference_ms')} ms inference, "
        f"{shown('shown_wait_ms')} ms waiting",
        f"CPU per upload with {users} users: the server {together['cpu_s_per_upload']['server']:.2f} s, "
        f"the whole machine {together['cpu_s_per_upload']['machine']:.2f} s (browser pages included)",
        f"server memory (MiB) after N uploads: {memory}; growth after warm-up "
        f"{soaked['memory_growth_mib']:+.0f} MiB",
        f"errors: {len(soaked['errors']) + len(first['errors']) + len(together['errors'])}",
        "Targets",
    ]
    return "\n".join(lines + [_target_line(**item) for item in result["targets"]])


def _target_line(target: str, comparison: str, limit: float, value: float, unit: str, met: bool) -> str:
    """One of benchmarks.inference.target's records as a line of the table."""
    return f"  {target} {comparison} {limit:g} {unit}: {value:.2f} {unit} ({'met' if met else 'MISSED'})"


def main(argv: list[str] | None = None) -> None:
    parser = cli.parser(__doc__.splitlines()[0], models=False)
    parser.add_argument("--uploads", type=int, default=300, help="single uploads in the long session")
    parser.add_argument("--gradcam-every", type=int, default=10, help="a Grad-CAM visit every N uploads")
    parser.add_argument("--batch-every", type=int, default=15, help="a batch every N uploads")
    parser.add_argument("--batch-size", type=int, default=10, help="files per batch")
    parser.add_argument("--memory-every", type=int, default=25, help="sample the server's memory every N")
    parser.add_argument("--warmup", type=int, default=25, help="uploads before memory growth is counted")
    parser.add_argument("--sessions", type=int, default=5, help="new sessions, one first upload each")
    parser.add_argument("--concurrent", type=int, default=5, help="pages uploading at once")
    parser.add_argument("--rounds", type=int, help="uploads per page at once (default: uploads / 15)")
    args = parser.parse_args(argv)
    if min(args.uploads, args.memory_every, args.sessions, args.concurrent, args.batch_size) < 1:
        parser.error(
            "--uploads, --memory-every, --sessions, --concurrent and --batch-size must be at least 1"
        )
    args.rounds = args.rounds or max(2, args.uploads // 15)
    data_dir, root = paths.data_dir(args.data), Path(args.artifacts)
    images = itertools.cycle(cycled(find_samples(data_dir, TEST_SPLIT), 4 * args.uploads))
    evaluated = evaluated_labels(root)
    # The server reads the same dataset and artifacts as this command.
    os.environ[paths.DATA_ENV_VAR], os.environ[paths.ARTIFACTS_ENV_VAR] = str(data_dir), str(root)
    info = machine.facts()
    with browser_page() as page, streamlit_server() as (url, _):
        soaked = soak(page, url, images, args, evaluated)
        first = first_uploads(page, url, images, args.sessions, evaluated)
        together = concurrency(page, url, images, args.concurrent, args.rounds, evaluated)
    info["load_average_1m_after"] = machine.load_average()
    result = {
        "machine": info,
        "options": {key: value for key, value in vars(args).items() if key not in ("data", "artifacts")},
        "batch_size": args.batch_size,
        "soak": soaked,
        "first_uploads": first,
        "concurrency": together,
    }
    result["targets"] = targets(result)
    print(table(result), flush=True)
    save(root / artifacts.SOAK_FILE, result)


if __name__ == "__main__":
    cli.run(main)
