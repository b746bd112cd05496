"""The soak benchmark's pure parts: its schedule, image choice, summaries and /proc readings.

The benchmark itself is `python -m benchmarks.soak`; no timing is asserted here.
"""

import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from benchmarks import soak
from core.data.dataset import Sample
from core.data.decode import DecodedImage
from core.serving.predict import FilePrediction, shown_time


def test_the_default_schedule_is_the_issues_mix_doubled():
    steps = soak.schedule(300, gradcam_every=10, batch_every=15, memory_every=25)
    counts = Counter(step.kind for step in steps)
    assert counts == {"upload": 300, "gradcam": 30, "batch": 20, "memory": 13}
    assert [s.uploads_done for s in steps if s.kind == "memory"] == list(range(0, 301, 25))
    uploads = [s.uploads_done for s in steps if s.kind == "upload"]
    assert uploads == list(range(300))  # in order, each once


def test_memory_is_also_sampled_at_the_end_of_a_short_run():
    steps = soak.schedule(10, gradcam_every=10, batch_every=15, memory_every=25)
    assert [(s.kind, s.uploads_done) for s in steps if s.kind != "upload"] == [
        ("memory", 0),
        ("gradcam", 10),
        ("memory", 10),
    ]


def test_images_take_the_classes_in_turn():
    samples = [
        Sample(Path(f"{label}-{i}.jpg"), f"{label}-{i}.jpg", label) for label in (0, 1, 3) for i in range(2)
    ]
    chosen = [s.relpath for s in soak.cycled(samples, 8)]
    assert chosen == ["0-0.jpg", "1-0.jpg", "3-0.jpg", "0-1.jpg", "1-1.jpg", "3-1.jpg", "0-0.jpg", "1-0.jpg"]


@pytest.mark.parametrize(
    "labels, right, as_evaluated",
    [
        (["Glioma", "Meningioma"], False, True),
        (["Glioma", "Glioma"], True, False),
        (["Not recognised", "Meningioma"], False, False),
    ],
    ids=["as evaluated, one wrong", "right, unlike evaluation", "flagged"],
)
def test_labels_are_judged_against_the_truth_and_the_evaluated_labels(labels, right, as_evaluated):
    sample = Sample(Path("g.jpg"), "Testing/glioma/g.jpg", 0)
    evaluated = [{"Testing/glioma/g.jpg": "glioma"}, {"Testing/glioma/g.jpg": "meningioma"}]
    assert soak.judged(labels, sample, evaluated) == {"right": right, "as_evaluated": as_evaluated}


def test_latency_summary():
    summary = soak.latency_summary([1.0, 3.0, 2.0, 10.0])
    assert summary == {"n": 4, "median_s": 2.5, "p95_s": pytest.approx(8.95), "max_s": 10.0}
    assert soak.latency_summary([]) == {"n": 0}


@pytest.mark.parametrize(
    "warmup, growth", [(0, 60.0), (25, 30.0), (50, 10.0), (100, 0.0)], ids=["all", "25", "50", "past the end"]
)
def test_memory_growth_counts_from_the_first_sample_after_warm_up(warmup, growth):
    samples = [
        {"uploads": n, "rss_mib": rss} for n, rss in [(0, 200.0), (25, 230.0), (50, 250.0), (60, 260.0)]
    ]
    assert soak.memory_growth(samples, warmup) == growth


def test_the_timing_shown_under_a_prediction_is_read_back():
    upload = DecodedImage(np.zeros((4, 4, 3), np.uint8), 4, 4)
    shown = shown_time(FilePrediction(upload, np.full(4, 0.25), inference_ms=6.4, wait_ms=1234.0))
    assert soak.shown_timing(f"97.0% · {shown}") == {"inference_ms": 6, "wait_ms": 1234}
    assert soak.shown_timing("97.0%") is None


def test_resident_memory_of_a_process_tree_counts_its_children():
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        tree = soak.process_tree(os.getpid())
        assert child.pid in tree
        assert soak.resident_mib(tree) > soak.resident_mib(tree[:1]) > 0
        assert soak.resident_mib([2**22 + 12345]) == 0  # no such process
    finally:
        child.kill()
        child.wait()


def _part(answers: list[float], finished: list[float] | None = None, **more) -> dict:
    uploads = [{"answer_s": a, "finished_s": f, "right": True, "as_evaluated": True} for a, f in
               zip(answers, finished or answers)]  # fmt: skip
    return {"uploads": uploads, **soak._counts(uploads), **more}


def test_the_targets_judge_one_user_a_new_session_and_several_users_against_one():
    result = {
        "soak": _part([0.2, 0.3, 0.4], [0.2, 1.3, 1.4], memory_growth_mib=10.0),
        "first_uploads": _part([0.8, 1.4, 0.9]),
        "concurrency": _part([0.5, 0.7, 0.6], users=5),
    }
    assert result["soak"]["finished"]["median_s"] == 1.3  # timed apart from the answer
    judged = {t["target"]: (round(t["value"], 2), t["met"]) for t in soak.targets(result)}
    assert judged == {
        "server memory growth after warm-up": (10.0, True),
        "median upload to every answer on screen, one user": (0.3, True),
        "median first upload of a session to every answer": (0.9, True),
        "5 users at once: median upload to every answer, in times one user's": (2.0, True),
    }
    result["concurrency"] = _part([0.7, 0.7], users=5)
    assert not soak.targets(result)[-1]["met"]  # 2.33 times one user's


def test_cpu_seconds_count_a_process_busy_time_and_the_machine_s():
    before, machine_before = soak.cpu_seconds([os.getpid()]), soak.machine_cpu_seconds()
    deadline = time.process_time() + 0.3
    while time.process_time() < deadline:  # busy for 0.3 s of CPU
        pass
    assert soak.cpu_seconds([os.getpid()]) - before >= 0.2
    assert soak.machine_cpu_seconds() - machine_before >= 0.2
    assert soak.cpu_seconds([2**22 + 12345]) == 0  # no such process
