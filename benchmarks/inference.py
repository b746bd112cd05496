"""Inference benchmark of every model: Keras vs LiteRT (float32 and int8), decoding an upload and Grad-CAM.

CLI: python -m benchmarks.inference [--repeats N] [--data DIR] [--artifacts DIR]
prints a table and writes artifacts/benchmark.json. Timings are medians and 95th percentiles
of N calls after a warm-up, on this machine as it is (its load is recorded too).
"""

import datetime
import functools
import io
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

from core import artifacts, cli, machine, paths
from core.data.dataset import TEST_SPLIT, Sample, find_samples
from core.data.decode import decode_image, load_images
from core.evaluation.efficiency import LATENCY_LABELS
from core.files import write_json
from core.models import registry
from core.serving.litert import LiteRTModel, int8_serves

BATCH = 64  # batched throughput, as core.evaluation.evaluate predicts
GRADCAM_METHODS = ("Grad-CAM", "Grad-CAM++")
TARGET_LITERT_MS = 6.0  # MobileNetV2, LiteRT fp32, batch 1
TARGET_SPEEDUP = 3.0  # LiteRT vs compiled Keras, batch 1
TARGET_GRADCAM_S = 0.5  # one image through both compared models (controls aside), per method
TARGET_INT8_MS = 2.5  # MobileNetV2, LiteRT int8, batch 1

ROWS = LATENCY_LABELS  # key in the results -> label in the table


def timed(call: Callable[[], object], repeats: int, warmup: int = 2, per: int = 1) -> dict[str, float]:
    """Median and 95th percentile milliseconds of `call` (divided by `per`), after a warm-up."""
    for _ in range(warmup):
        call()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append((time.perf_counter() - start) * 1000 / per)
    return {"median_ms": statistics.median(times), "p95_ms": float(np.percentile(times, 95))}


def upload_bytes(samples: list[Sample] | None) -> tuple[bytes, str]:
    """A file as a user would upload it: the first test JPEG, else a synthetic 512x512 PNG."""
    if samples:
        return samples[0].path.read_bytes(), samples[0].relpath
    pixels = np.random.default_rng(0).integers(0, 256, (512, 512), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels, mode="L").save(buffer, format="PNG")
    return buffer.getvalue(), "synthetic 512x512 PNG"


def batched(model: LiteRTModel, images: np.ndarray) -> np.ndarray:
    """(N, S, S, 3) uint8 -> (N, 4), BATCH images per call."""
    return np.concatenate([model.probabilities(images[i : i + BATCH]) for i in range(0, len(images), BATCH)])


def int8_accuracy(fp32: LiteRTModel, int8: LiteRTModel, images: np.ndarray, labels: np.ndarray) -> dict:
    """Test accuracy of the float32 and int8 LiteRT models, and how far int8 moves the answers."""
    full, quantized = batched(fp32, images), batched(int8, images)  # (N, 4) each
    return {
        "n_images": len(labels),
        "fp32": float((full.argmax(1) == labels).mean()),
        "int8": float((quantized.argmax(1) == labels).mean()),
        "labels_changed": int((full.argmax(1) != quantized.argmax(1)).sum()),
        "max_probability_change": float(np.abs(full - quantized).max()),
    }


def bench_model(name: str, root: Path, upload: bytes, samples: list[Sample] | None, repeats: int) -> dict:
    """Every timing of one model, its file sizes and, with the dataset, int8 vs fp32 accuracy."""
    from core.serving.gradcam import Explainer

    config, model = artifacts.load_config(name, root), artifacts.load_model(name, root)
    files = {"keras": artifacts.model_dir(name, root) / artifacts.MODEL_FILE}
    files |= {
        "tflite_fp32": artifacts.tflite_path(name, root),
        "tflite_int8": artifacts.tflite_path(name, root, True),
    }
    for path in files.values():
        if not path.is_file():
            raise FileNotFoundError(f"{path} missing (write the LiteRT files with `python -m core litert`)")
    fp32, int8 = LiteRTModel(files["tflite_fp32"]), LiteRTModel(files["tflite_int8"])
    size = config.image_size
    print(f"[{name}] timing {repeats} calls each at {size} px", flush=True)

    if samples:
        images, labels, _, _ = load_images(samples, size)  # (N, S, S, 3) uint8
    else:
        images = np.random.default_rng(0).integers(0, 256, (BATCH, size, size, 3), dtype=np.uint8)
    image = decode_image(upload, size)  # (S, S, 3)
    one, one_float = image[None], image[None].astype(np.float32)  # (1, S, S, 3)
    batch = images[:BATCH].astype(np.float32)  # (64, S, S, 3)
    compiled = registry.compiled(model)
    results = {
        "keras_predict_batch_1": timed(lambda: model.predict(one_float, verbose=0), repeats),
        "keras_compiled_batch_1": timed(lambda: np.asarray(compiled(one_float)), repeats),
        "litert_fp32_batch_1": timed(lambda: fp32.probabilities(one), repeats),
        "litert_int8_batch_1": timed(lambda: int8.probabilities(one), repeats),
        "decode_upload": timed(lambda: decode_image(upload, size), repeats),
    }
    batch_repeats = max(3, repeats // 10)
    results["keras_batch_64_per_image"] = timed(
        lambda: model.predict(batch, batch_size=BATCH, verbose=0), batch_repeats, warmup=1, per=len(batch)
    )
    results["litert_fp32_batch_64_per_image"] = timed(
        lambda: fp32.probabilities(batch), batch_repeats, warmup=1, per=len(batch)
    )
    # Grad-CAM as the pages run it: one explainer per model, built once, then one image at a time.
    explainer, class_index = (
        Explainer(model, registry.get(config.architecture).explain_layer),
        int(fp32.probabilities(one).argmax()),
    )
    for method in GRADCAM_METHODS:
        heatmap = functools.partial(explainer.heatmap, image, class_index, method)
        results[f"gradcam_{method}"] = timed(heatmap, max(3, repeats // 5), warmup=1)

    report = {
        "image_size": size,
        "timings_ms": results,
        "litert_speedup_vs_compiled_keras": results["keras_compiled_batch_1"]["median_ms"]
        / results["litert_fp32_batch_1"]["median_ms"],
        "file_size_mb": {kind: path.stat().st_size / 1e6 for kind, path in files.items()},
    }
    if samples:
        print(f"[{name}] int8 vs fp32 accuracy on {len(labels)} test images", flush=True)
        accuracy = report["test_accuracy"] = int8_accuracy(fp32, int8, images, labels)
        report[artifacts.INT8_SERVES] = int8_serves(
            results["litert_fp32_batch_1"]["median_ms"],
            results["litert_int8_batch_1"]["median_ms"],
            accuracy["labels_changed"],
            accuracy["n_images"],
        )
    return report


def target(name: str, value: float, comparison: str, limit: float, unit: str) -> dict:
    met = value <= limit if comparison == "<=" else value >= limit
    return {
        "target": name,
        "comparison": comparison,
        "limit": limit,
        "value": value,
        "unit": unit,
        "met": met,
    }


def check_targets(results: dict) -> list[dict]:
    """The issue's speed targets, each with its measured value and whether it is met."""
    median = lambda name, key: results[name]["timings_ms"][key]["median_ms"]
    targets = []
    if "mobilenetv2" in results:  # the published model the latency target is about
        latency = median("mobilenetv2", "litert_fp32_batch_1")
        targets.append(target("MobileNetV2 LiteRT fp32, batch 1", latency, "<=", TARGET_LITERT_MS, "ms"))
        latency = median("mobilenetv2", "litert_int8_batch_1")
        targets.append(target("MobileNetV2 LiteRT int8, batch 1", latency, "<=", TARGET_INT8_MS, "ms"))
        if "test_accuracy" in results["mobilenetv2"]:
            accuracy = results["mobilenetv2"]["test_accuracy"]
            lost = (accuracy["fp32"] - accuracy["int8"]) * 100
            targets.append(target("MobileNetV2 accuracy lost by int8", lost, "<=", 0.5, "points"))
    for name, report in results.items():
        speedup = report["litert_speedup_vs_compiled_keras"]
        targets.append(
            target(
                f"{registry.get(name).short_name} LiteRT speedup vs compiled Keras, batch 1",
                speedup,
                ">=",
                TARGET_SPEEDUP,
                "x",
            )
        )
    compared = [name for name in results if not registry.get(name).control]
    for method in GRADCAM_METHODS:
        seconds = sum(median(name, f"gradcam_{method}") for name in compared) / 1000
        label = f"{method} of one image, the compared models together"
        targets.append(target(label, seconds, "<=", TARGET_GRADCAM_S, "s"))
    return targets


def save(path: Path, result: dict) -> None:
    """Write a benchmark's result as JSON, stamped with the time it was written, and say where."""
    created = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    write_json(path, {"created": created} | result)
    print(f"wrote {path}", flush=True)


def table(result: dict) -> str:
    """The results as a plain-text table, one column per model, targets underneath."""
    models, info = result["models"].values(), result["machine"]
    row = lambda label, cells: label.ljust(36) + "".join(cell.ljust(36) for cell in cells).rstrip()
    lines = [
        f"Inference on {info['cpu']}, {info['cores']} cores, 1-min load {info['load_average_1m']} before "
        f"and {info['load_average_1m_after']} after; "
        f"median / p95 ms of {result['repeats']} calls; upload: {result['upload']}",
        row("", [f"{name} ({m['image_size']} px)" for name, m in result["models"].items()]),
    ]
    for key, label in ROWS.items():
        timings = [m["timings_ms"][key] for m in models]
        lines.append(row(label, [f"{t['median_ms']:.1f} / {t['p95_ms']:.1f}" for t in timings]))
    lines.append(
        row(
            "LiteRT speedup vs compiled Keras",
            [f"{m['litert_speedup_vs_compiled_keras']:.1f}x" for m in models],
        )
    )
    sizes = [" / ".join(f"{mb:.1f}" for mb in m["file_size_mb"].values()) for m in models]
    lines.append(row("Size MB: Keras / fp32 / int8", sizes))
    if all("test_accuracy" in m for m in models):
        accuracies = [m["test_accuracy"] for m in models]
        cells = [f"{a['fp32']:.2%} -> {a['int8']:.2%} ({a['labels_changed']} changed)" for a in accuracies]
        lines.append(row("Test accuracy fp32 -> int8", cells))
        lines.append(
            row("App predicts with", ["int8" if m[artifacts.INT8_SERVES] else "fp32" for m in models])
        )
    lines.append("Targets")
    for item in result["targets"]:
        goal = f"{item['comparison']} {item['limit']:g} {item['unit']}"
        mark = "met" if item["met"] else "MISSED"
        lines.append(f"  {item['target']} {goal}: {item['value']:.2f} {item['unit']} ({mark})")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = cli.parser(__doc__.splitlines()[0], models=False)
    parser.add_argument("--repeats", type=int, default=50, help="timed calls per measurement")
    args = parser.parse_args(argv)
    root, data_dir = Path(args.artifacts), paths.data_dir(args.data)
    samples = find_samples(data_dir, TEST_SPLIT) if (data_dir / TEST_SPLIT).is_dir() else None
    upload, upload_name = upload_bytes(samples)
    info = machine.facts()  # the load before the run: other processes slow every timing down
    results = {
        name: bench_model(name, root, upload, samples, args.repeats)
        for name in artifacts.available_models(root)
    }
    info["load_average_1m_after"] = machine.load_average()
    result = {
        "machine": info,
        "repeats": args.repeats,
        "upload": upload_name,
        "models": results,
        "targets": check_targets(results),
    }
    print(table(result), flush=True)
    save(root / artifacts.BENCHMARK_FILE, result)


if __name__ == "__main__":
    cli.run(main)
