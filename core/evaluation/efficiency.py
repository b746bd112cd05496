"""Tables for the Efficiency page: the inference benchmark's JSON and the training manifests."""

import pandas as pd

from core.records import Metrics

LATENCY_LABELS = {  # benchmark key -> what it measures, in the order shown
    "keras_predict_batch_1": "Keras model.predict, batch 1",
    "keras_compiled_batch_1": "Keras compiled call, batch 1",
    "litert_fp32_batch_1": "LiteRT fp32, batch 1",
    "litert_int8_batch_1": "LiteRT int8, batch 1",
    "keras_batch_64_per_image": "Keras batch 64, per image",
    "litert_fp32_batch_64_per_image": "LiteRT fp32 batch 64, per image",
    "decode_upload": "Decode + resize an upload",
    "gradcam_Grad-CAM": "Grad-CAM",
    "gradcam_Grad-CAM++": "Grad-CAM++",
}
SERVED_LATENCY = "litert_fp32_batch_1"  # what the app predicts with, as the cards show it
TRAINING_TARGET_S = 20 * 60  # the two compared models (no control), end to end, one seed each


def latency_table(benchmark: dict, titles: dict[str, str]) -> pd.DataFrame:
    """Long table: model, measurement, median_ms, p95_ms, in LATENCY_LABELS order."""
    rows = [
        {"model": titles.get(name, name), "measurement": label} | {
            "median_ms": result["timings_ms"][key]["median_ms"],
            "p95_ms": result["timings_ms"][key]["p95_ms"],
        }
        for name, result in benchmark["models"].items()
        for key, label in LATENCY_LABELS.items()
        if key in result["timings_ms"]
    ]  # fmt: skip
    return pd.DataFrame(rows)


def size_table(benchmark: dict, metrics_by_model: dict[str, Metrics], titles: dict[str, str]) -> pd.DataFrame:
    """Per model: parameters, file sizes of each format, and the int8 copy's test accuracy."""
    rows = []
    for name, result in benchmark["models"].items():
        sizes, accuracy = result["file_size_mb"], result.get("test_accuracy", {})
        rows.append(
            {
                "model": titles.get(name, name),
                "parameters": metrics_by_model[name].model.total_params,
                "Keras (MB)": sizes.get("keras"),
                "LiteRT fp32 (MB)": sizes.get("tflite_fp32"),
                "LiteRT int8 (MB)": sizes.get("tflite_int8"),
                "accuracy fp32": accuracy.get("fp32"),
                "accuracy int8": accuracy.get("int8"),
                "labels changed by int8": accuracy.get("labels_changed"),
            }
        )
    return pd.DataFrame(rows)


def training_phases(manifests: dict[str, dict], titles: dict[str, str]) -> pd.DataFrame:
    """Long table: model, phase, seconds, from each manifest's wall times (without the total)."""
    return pd.DataFrame(
        [
            {"model": titles.get(name, name), "phase": phase, "seconds": seconds}
            for name, manifest in manifests.items()
            for phase, seconds in manifest["wall_time_s"].items()
            if phase != "total"
        ]
    )


def phase_table(history: dict) -> pd.DataFrame:
    """A history's training phases, one row each, narrow enough for a third of the page: phase,
    epochs ("1–12"), best (the epoch kept), seconds."""
    return pd.DataFrame(
        [
            {
                "phase": phase["name"],
                "epochs": f"{phase['first_epoch']}–{phase['last_epoch']}",
                "best": phase["best_epoch"],
                "seconds": round(phase["wall_time_s"]),
            }
            for phase in history["phases"]
        ]
    )


def served_latency_ms(benchmark: dict | None) -> float | None:
    """A model's latency as the cards show it: the median of the benchmark's batch-1 calls through
    the backend the app predicts with (LiteRT fp32), on a quiet machine; None where not measured.

    Args:
        benchmark: this model's entry in benchmark.json, or None.
    """
    timing = (benchmark or {}).get("timings_ms", {}).get(SERVED_LATENCY)
    return timing["median_ms"] if timing else None


def training_seconds(manifest: dict) -> float:
    """A run's training time end to end (decoding, training, LiteRT export and evaluation), as its
    manifest recorded it; a model's, the one figure every page shows, is its quickest run's
    (artifacts.load_quickest_manifest)."""
    return float(manifest["wall_time_s"]["total"])


def training_total_s(manifests: dict[str, dict]) -> float:
    """The models' runs end to end: the sum of their training_seconds."""
    return sum(training_seconds(manifest) for manifest in manifests.values())


def machines_sentence(manifests: dict[str, dict], titles: dict[str, str]) -> str:
    """Where the runs were timed, when not all on one machine (their times then compare loosely);
    "" when every manifest names the same CPU, or none does."""
    machines = {name: manifest.get("cpu") for name, manifest in manifests.items()}
    if len(set(machines.values())) < 2:
        return ""
    timed = [
        f"{titles.get(name, name)} on {cpu or 'an unrecorded machine'}" for name, cpu in machines.items()
    ]
    return f"Timed on different machines: {'; '.join(timed)}."


def targets_table(*benchmarks: dict | None) -> pd.DataFrame:
    """The speed targets with their measured values, as the benchmarks recorded them (None: absent)."""
    return pd.DataFrame(
        [
            {
                "target": f"{t['target']} {t['comparison']} {t['limit']:g} {t['unit']}",
                "measured": f"{t['value']:.2f} {t['unit']}",
                "met": t["met"],
            }
            for benchmark in benchmarks
            if benchmark
            for t in benchmark.get("targets", [])  # some benchmarks only measure
        ]
    )


def first_visit_table(first_visit: dict) -> pd.DataFrame:
    """Each page's first visit (benchmarks.first_visit): seconds to its title and to the whole page."""
    return pd.DataFrame(
        [
            {"page": page, "title (s)": times["title_s"], "complete (s)": times["complete_s"]}
            for page, times in first_visit["pages"].items()
        ]
    )


def upload_table(soak: dict) -> pd.DataFrame:
    """Live prediction's upload times (benchmarks.soak), one row per way of uploading: seconds from
    setting the file to every model's answer on screen, and to the page finished (None: not timed)."""
    parts = {
        "one user, many uploads": soak["soak"],
        "a new session's first upload": soak["first_uploads"],
        f"{soak['concurrency']['users']} users at once": soak["concurrency"],
    }
    return pd.DataFrame(
        [
            {
                "uploads": who,
                "n": part["answer"]["n"],
                "answer, median (s)": part["answer"].get("median_s"),
                "answer, 95th pct (s)": part["answer"].get("p95_s"),
                "page finished, median (s)": part["finished"].get("median_s"),
            }
            for who, part in parts.items()
        ]
    )
