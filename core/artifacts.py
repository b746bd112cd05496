"""The one reader and writer of artifacts/<model>/, used by the app, CLIs, benchmarks and tests.

Each model folder holds model.keras, config.json, history.json, metrics.json,
predictions.csv, validation_predictions.csv, ood.npz and manifest.json. Writes go to a hidden
staging folder that replaces the old one only once complete, so an interrupted run leaves the
previous artifacts intact.
"""

import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd

from core.config import CONFIGS, ModelConfig
from core.paths import ARTIFACTS_DIR

MODEL_FILE = "model.keras"
PREDICTIONS_FILE = "predictions.csv"  # one row per test image
VALIDATION_FILE = "validation_predictions.csv"  # one row per validation image
GUARD_FILE = "ood.npz"  # the out-of-distribution guard (core.ood)
AUDIT_FILE = "audit.json"  # the dataset's leakage audit, next to the model folders
# Optional LiteRT copies of the model (core.litert); Keras is the fallback, so not in ARTIFACT_FILES.
TFLITE_FILE = "model.tflite"  # float32
TFLITE_INT8_FILE = "model_int8.tflite"  # int8 weights, dynamic-range quantization
BENCHMARK_FILE = "benchmark.json"  # inference timings of every model (benchmarks.inference)
COLD_START_FILE = "benchmark_cold_start.json"  # the dashboard's start-up time (benchmarks.cold_start)
BENCHMARKS = {
    BENCHMARK_FILE: "benchmarks.inference",
    COLD_START_FILE: "benchmarks.cold_start",
}  # file -> writer
ARTIFACT_FILES = (
    MODEL_FILE,
    "config.json",
    "history.json",
    "metrics.json",
    PREDICTIONS_FILE,
    VALIDATION_FILE,
    GUARD_FILE,
    "manifest.json",
)


class ArtifactError(FileNotFoundError):
    """A model's artifact folder or one of its files is missing."""


def model_dir(name: str, root: Path = ARTIFACTS_DIR) -> Path:
    return Path(root) / name


def available_models(root: Path = ARTIFACTS_DIR) -> list[str]:
    """Names of the models with a complete artifact folder, in CONFIGS order."""
    return [
        name for name in CONFIGS if all((model_dir(name, root) / file).is_file() for file in ARTIFACT_FILES)
    ]


def _path(name: str, file: str, root: Path) -> Path:
    path = model_dir(name, root) / file
    if not path.is_file():
        raise ArtifactError(f"artifact missing: {path} (train it with `python -m core.train --model {name}`)")
    return path


def read_json(name: str, file: str, root: Path = ARTIFACTS_DIR) -> Any:
    return json.loads(_path(name, file, root).read_text())


def write_json(path: Path, data: Any) -> None:
    """Write JSON via a temporary file so a crash never leaves half a file."""
    temporary = Path(path).with_suffix(".json.tmp")
    temporary.write_text(json.dumps(data, indent=2) + "\n")
    os.replace(temporary, path)


def load_config(name: str, root: Path = ARTIFACTS_DIR) -> ModelConfig:
    return ModelConfig.load(_path(name, "config.json", root))


def load_history(name: str, root: Path = ARTIFACTS_DIR) -> dict:
    return read_json(name, "history.json", root)


def load_metrics(name: str, root: Path = ARTIFACTS_DIR) -> dict:
    return read_json(name, "metrics.json", root)


def load_manifest(name: str, root: Path = ARTIFACTS_DIR) -> dict:
    return read_json(name, "manifest.json", root)


def load_predictions(name: str, root: Path = ARTIFACTS_DIR, split: str = "test") -> pd.DataFrame:
    """Per-image predictions on the test set, or with split="validation" the validation split."""
    return pd.read_csv(_path(name, VALIDATION_FILE if split == "validation" else PREDICTIONS_FILE, root))


def load_audit(root: Path = ARTIFACTS_DIR) -> dict:
    """The dataset's leakage audit (core.audit)."""
    path = Path(root) / AUDIT_FILE
    if not path.is_file():
        raise ArtifactError(f"artifact missing: {path} (write it with `python -m core.audit`)")
    return json.loads(path.read_text())


def load_benchmark(root: Path = ARTIFACTS_DIR, file: str = BENCHMARK_FILE) -> dict:
    """A benchmark's results (one of BENCHMARKS), next to the model folders."""
    path = Path(root) / file
    if not path.is_file():
        raise ArtifactError(f"artifact missing: {path} (write it with `python -m {BENCHMARKS[file]}`)")
    return json.loads(path.read_text())


def tflite_path(name: str, root: Path = ARTIFACTS_DIR, int8: bool = False) -> Path:
    """Where a model's LiteRT copy lives (it may not exist: `python -m core.litert` writes it)."""
    return model_dir(name, root) / (TFLITE_INT8_FILE if int8 else TFLITE_FILE)


def load_model(name: str, root: Path = ARTIFACTS_DIR):
    """The saved Keras model, uncompiled, ready for inference on raw 0-255 RGB."""
    import keras  # imported here so pages without a model never pay for TensorFlow

    return keras.saving.load_model(_path(name, MODEL_FILE, root), compile=False)


@contextmanager
def staged_model_dir(name: str, root: Path = ARTIFACTS_DIR) -> Iterator[Path]:
    """Yield an empty staging folder; on success it becomes artifacts/<name>, else it is removed."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    staging = root / f".{name}.staging-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    try:
        yield staging
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    final, previous = model_dir(name, root), root / f".{name}.previous"
    shutil.rmtree(previous, ignore_errors=True)
    if final.exists():
        final.rename(previous)
    staging.rename(final)
    shutil.rmtree(previous, ignore_errors=True)
