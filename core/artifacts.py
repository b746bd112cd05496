"""The one reader and writer of artifacts/<model>/, used by the app, CLIs, benchmarks and tests.

Each model folder holds model.keras, config.json, history.json, metrics.json,
predictions.csv, validation_predictions.csv, ood.npz and manifest.json. Writes go to a hidden
staging folder that replaces the old one only once complete, so an interrupted run leaves the
previous artifacts intact. The artifacts folder is `root` where a function takes one, else
paths.artifacts_dir() (--artifacts, $BRAIN_MRI_ARTIFACTS or artifacts/).
"""

import json
import os
import shutil
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
import pandas as pd

from core import commands, paths
from core.models import config as model_config
from core.models import registry
from core.models.config import ModelConfig
from core.records import CrossSourceSummary, ExternalSummary, Metrics, WarningsSummary

if TYPE_CHECKING:
    import keras


MODEL_FILE = "model.keras"
PREDICTIONS_FILE = "predictions.csv"  # one row per test image
VALIDATION_FILE = "validation_predictions.csv"  # one row per validation image
GUARD_FILE = "ood.npz"  # the out-of-distribution guard (core.serving.ood)
RUNS_DIR = "runs"  # inside a model folder: the results of its other seeds (core train --seeds)
REPLACED_DIR = ".replaced"  # model folders a promotion replaced: .replaced/<when>/<model>/, to restore
AUDIT_FILE = "audit.json"  # the dataset's leakage audit, next to the model folders
PROVENANCE_FILE = "provenance.json"  # each image's source collection (core.data.provenance)
CROSSSOURCE_DIR = (
    "crosssource"  # leave-one-source-out results, a folder per recipe (core.studies.crosssource)
)
CROSSSOURCE_SUMMARY = "summary.json"
CURRENT_RECIPE = "current"  # the shipped models' recipe; earlier recipes' results sit beside it
GUARD_REPORT_FILE = (
    "ood_report.json"  # the guard measured on test and foreign images (core.studies.ood_report)
)
EXTERNAL_FILE, EXTERNAL_TABLE = "external.json", "external.csv"  # core.studies.external
WARNINGS_FILE = "warnings.json"  # what Live prediction's warnings catch (core.studies.warnings)
NEIGHBOURS_FILE = "neighbours.npz"  # training images' ImageNet features (core.serving.neighbours)
NEIGHBOURS_TFLITE_FILE = "neighbours.tflite"  # the LiteRT copy of the network that computes them
EMBEDDING_FILE = "embedding.npz"  # every image on each model's 2-D feature map (core.studies.embedding)
LOCALISATION_FILE, LOCALISATION_TABLE = "localisation.json", "localisation.csv"  # core.studies.localisation
# Optional LiteRT copies of the model (core.serving.litert); Keras is the fallback, so not in ARTIFACT_FILES.
TFLITE_FILE = "model.tflite"  # float32
TFLITE_INT8_FILE = "model_int8.tflite"  # full integer: int8 weights and activations
INT8_SERVES = "int8_serves"  # in benchmark.json, per model: the app predicts with the int8 copy
BENCHMARK_FILE = "benchmark.json"  # inference timings of every model (benchmarks.inference)
COLD_START_FILE = "benchmark_cold_start.json"  # the dashboard's start-up time (benchmarks.cold_start)
FIRST_VISIT_FILE = "benchmark_first_visit.json"  # each page's first visit (benchmarks.first_visit)
SOAK_FILE = "benchmark_soak.json"  # upload latency and memory in the browser (benchmarks.soak)
BENCHMARKS = {
    BENCHMARK_FILE: "benchmarks.inference",
    COLD_START_FILE: "benchmarks.cold_start",
    FIRST_VISIT_FILE: "benchmarks.first_visit",
    SOAK_FILE: "benchmarks.soak",
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
RUN_FILES = tuple(f for f in ARTIFACT_FILES if f != GUARD_FILE)  # a run under runs/seed-*: model and results
EVALUATION_FILES = (
    "metrics.json",
    PREDICTIONS_FILE,
    VALIDATION_FILE,
    GUARD_FILE,
)  # core.evaluation.evaluate's
KERAS_ARCHIVE_FILES = {"metadata.json", "config.json", "model.weights.h5"}  # inside every .keras zip
LFS_POINTER = b"version https://git-lfs"  # how a Git LFS pointer file starts
# What a damaged file can raise while read: bad JSON or text (ValueError), a bad zip, a short read.
READ_ERRORS = (ValueError, TypeError, KeyError, OSError, EOFError, zipfile.BadZipFile)


class ArtifactError(FileNotFoundError):
    """A model's artifact folder or one of its files is missing (or damaged: DamagedArtifactError)."""


class DamagedArtifactError(ArtifactError, ValueError):
    """An artifact file is there but cannot be read: truncated, half-copied or a Git LFS pointer."""


WRITERS = {  # dataset-wide artifact file -> the command that writes it
    AUDIT_FILE: "audit",
    PROVENANCE_FILE: "sources",
    CROSSSOURCE_SUMMARY: "crosssource",
    GUARD_REPORT_FILE: "guard-report",
    EXTERNAL_FILE: "external",
    EXTERNAL_TABLE: "external",
    WARNINGS_FILE: "warnings",
    NEIGHBOURS_FILE: "neighbours",
    NEIGHBOURS_TFLITE_FILE: "neighbours",
    EMBEDDING_FILE: "embedding",
    LOCALISATION_FILE: "localisation",
    LOCALISATION_TABLE: "localisation",
}


def writer(file: str, name: str | None = None) -> str:
    """The command that (re)writes an artifact `file`, of model `name` where it belongs to one."""
    if file in BENCHMARKS:
        return f"python -m {BENCHMARKS[file]}"
    if file in WRITERS:
        return commands.command(WRITERS[file])
    if file in (TFLITE_FILE, TFLITE_INT8_FILE):
        return commands.command("litert", "--model", str(name), "--data", "DIR")
    return commands.command("evaluate" if file in EVALUATION_FILES else "train", "--model", str(name))


@contextmanager
def reading(path: Path, command: str) -> Iterator[None]:
    """Turn whatever reading a damaged `path` raises into a DamagedArtifactError naming it."""
    try:
        yield
    except READ_ERRORS as error:
        if isinstance(error, ArtifactError):
            raise
        raise DamagedArtifactError(
            f"artifact damaged: {path} ({type(error).__name__}: {error}); rewrite it with `{command}`"
        ) from error


def model_dir(name: str, root: Path | None = None) -> Path:
    return paths.artifacts_dir(root) / name


def run_dir(model_folder: Path, seed: int) -> Path:
    """Where `train --seeds` keeps the results of a model's run with `seed` (not the served one)."""
    return Path(model_folder) / RUNS_DIR / f"seed-{seed}"


def seed_runs(name: str, root: Path | None = None) -> list[Path]:
    """Every run's folder of a model, the served one first, then runs/seed-* by seed."""
    folder = model_dir(name, root)
    others = sorted((folder / RUNS_DIR).glob("seed-*"), key=lambda p: int(p.name.removeprefix("seed-")))
    return [folder, *others]


def available_models(root: Path | None = None) -> list[str]:
    """Names of the registered models with a complete artifact folder, in registry order."""
    return [
        name
        for name in registry.names()
        if all((model_dir(name, root) / file).is_file() for file in ARTIFACT_FILES)
    ]


def _path(name: str, file: str, root: Path | None) -> Path:
    path = model_dir(name, root) / file
    if not path.is_file():
        raise ArtifactError(
            f"artifact missing: {path} (train it with `{commands.command('train', '--model', name)}`)"
        )
    return path


def _json(path: Path, command: str) -> Any:
    with reading(path, command):
        return json.loads(path.read_text())


def read_json(name: str, file: str, root: Path | None = None) -> Any:
    return _json(_path(name, file, root), writer(file, name))


def load_config(name: str, root: Path | None = None) -> ModelConfig:
    path = _path(name, "config.json", root)
    with reading(path, writer("config.json", name)):
        return ModelConfig.load(path)


def load_history(name: str, root: Path | None = None) -> dict:
    return read_json(name, "history.json", root)


def load_metrics(name: str, root: Path | None = None) -> Metrics:
    path = _path(name, "metrics.json", root)
    command = writer("metrics.json", name)
    with reading(path, command):
        return Metrics.from_json(_json(path, command))


T = TypeVar("T")


def unless_missing(load: Callable[[], T]) -> T | None:
    """`load()`, or None where its artifact is missing. Raises DamagedArtifactError."""
    try:
        return load()
    except DamagedArtifactError:
        raise
    except ArtifactError:
        return None


def load_manifest(name: str, root: Path | None = None) -> dict:
    return read_json(name, "manifest.json", root)


def load_quickest_manifest(name: str, root: Path | None = None) -> dict:
    """The manifest of the model's quickest run end to end among its seeds: its training time, as
    every page shows it. Runs differ only in seed, so the quickest is the one that had the machine
    most to itself (two trainings side by side each take about twice as long)."""
    manifests = [load_manifest(name, root)]
    command = writer("manifest.json", name)
    manifests += [_json(folder / "manifest.json", command) for folder in seed_runs(name, root)[1:]]
    return min(manifests, key=lambda manifest: manifest["wall_time_s"]["total"])


def load_predictions(name: str, root: Path | None = None, split: str = "test") -> pd.DataFrame:
    """Per-image predictions on the test set, or with split="validation" the validation split."""
    file = VALIDATION_FILE if split == "validation" else PREDICTIONS_FILE
    return _table(_path(name, file, root), writer(file, name))


def _table(path: Path, command: str) -> pd.DataFrame:
    with reading(path, command):
        table = pd.read_csv(path)
        if table.empty or table.isna().any(axis=None):  # a cut-off file ends in a short row
            raise ValueError("empty cells: the file is cut off")
    return table


def model_runs(name: str, root: Path | None = None) -> dict[int, Path]:
    """The folders of a model's runs that keep their model, by seed, the served run first (runs
    trained before every run kept its model have only their results)."""
    rewrite = commands.command("train", "--model", name, "--seeds", "N", "--keep-runs")
    return {
        _json(folder / "manifest.json", rewrite)["seed"]: folder
        for folder in seed_runs(name, root)
        if (folder / MODEL_FILE).is_file()
    }


def load_run(folder: Path) -> tuple["keras.Model", pd.DataFrame, pd.DataFrame]:
    """A run's (model, validation predictions, test predictions), from a folder of model_runs."""
    import keras

    rewrite = commands.command("train", "--seeds", "N")
    path = Path(folder) / MODEL_FILE
    with reading(path, rewrite):
        model = keras.saving.load_model(path, compile=False)
    return model, _table(folder / VALIDATION_FILE, rewrite), _table(folder / PREDICTIONS_FILE, rewrite)


def load_run_predictions(name: str, root: Path | None = None) -> dict[int, pd.DataFrame]:
    """Every run's test predictions by seed, the served run's included (core train --seeds)."""
    runs = {}
    for folder in seed_runs(name, root):
        rewrite = commands.command("train", "--model", name, "--seeds", "N")
        for file in ("manifest.json", PREDICTIONS_FILE):
            if not (folder / file).is_file():
                raise ArtifactError(f"artifact missing: {folder / file} (rewrite it with `{rewrite}`)")
        runs[_json(folder / "manifest.json", rewrite)["seed"]] = _table(folder / PREDICTIONS_FILE, rewrite)
    return runs


def load_arrays(name: str, file: str, root: Path | None = None) -> dict[str, np.ndarray]:
    """Every array of a model's .npz file, read in full so that a damaged file fails here."""
    path = _path(name, file, root)
    with reading(path, writer(file, name)), np.load(path) as stored:
        return {key: stored[key] for key in stored.files}


def _dataset_file(relpath: str, root: Path | None) -> tuple[Path, str]:
    """(path, the command that writes it) of an artifact about the dataset, not one model.

    Raises:
        ArtifactError: there is no such file under artifacts/.
    """
    path = paths.artifacts_dir(root) / relpath
    command = writer(Path(relpath).name)
    if not path.is_file():
        raise ArtifactError(f"artifact missing: {path} (write it with `{command}`)")
    return path, command


def _dataset_json(relpath: str, root: Path | None) -> dict:
    return _json(*_dataset_file(relpath, root))


def load_audit(root: Path | None = None) -> dict:
    """The dataset's leakage audit (core.studies.audit)."""
    return _dataset_json(AUDIT_FILE, root)


def load_provenance(root: Path | None = None) -> dict:
    """Each image's source collection, and the counts per split, source and class (core.data.provenance)."""
    return _dataset_json(PROVENANCE_FILE, root)


def load_external(root: Path | None = None) -> tuple[ExternalSummary, pd.DataFrame]:
    """The models on the external validation set: (summary, per-image table), core.studies.external."""
    path, command = _dataset_file(EXTERNAL_FILE, root)
    with reading(path, command):
        summary = ExternalSummary.from_json(_json(path, command))
    return summary, _table(*_dataset_file(EXTERNAL_TABLE, root))


def load_warnings(root: Path | None = None) -> WarningsSummary:
    """What Live prediction's warnings catch (core.studies.warnings)."""
    path, command = _dataset_file(WARNINGS_FILE, root)
    with reading(path, command):
        return WarningsSummary.from_json(_json(path, command))


def load_localisation(root: Path | None = None) -> tuple[dict, pd.DataFrame]:
    """Where the models look (core.studies.localisation): (summary, per-image table)."""
    return _dataset_json(LOCALISATION_FILE, root), _table(*_dataset_file(LOCALISATION_TABLE, root))


def load_dataset_arrays(file: str, root: Path | None = None) -> dict[str, np.ndarray]:
    """Every array of an .npz artifact about the dataset (e.g. NEIGHBOURS_FILE), read in full."""
    path, command = _dataset_file(file, root)
    with reading(path, command), np.load(path) as stored:
        return {key: stored[key] for key in stored.files}


def read_dataset_file(file: str, read: Callable[[bytes], T], root: Path | None = None) -> T:
    """`read` of the bytes of an artifact about the dataset (e.g. NEIGHBOURS_TFLITE_FILE into an
    interpreter); what it raises on a damaged file becomes a DamagedArtifactError naming it."""
    path, command = _dataset_file(file, root)
    with reading(path, command):
        return read(path.read_bytes())


def crosssource_recipes(root: Path | None = None) -> list[str]:
    """The recipes with leave-one-source-out results, the current one first."""
    folder = paths.artifacts_dir(root) / CROSSSOURCE_DIR
    found = sorted(p.parent.name for p in folder.glob(f"*/{CROSSSOURCE_SUMMARY}"))
    return sorted(found, key=lambda recipe: recipe != CURRENT_RECIPE)


def load_crosssource(recipe: str = CURRENT_RECIPE, root: Path | None = None) -> CrossSourceSummary:
    """One recipe's leave-one-source-out summary (core.studies.crosssource)."""
    path, command = _dataset_file(f"{CROSSSOURCE_DIR}/{recipe}/{CROSSSOURCE_SUMMARY}", root)
    with reading(path, command):
        return CrossSourceSummary.from_json(_json(path, command), model_config.defaults())


def load_crosssource_table(
    fold: str, name: str, recipe: str = CURRENT_RECIPE, root: Path | None = None
) -> pd.DataFrame:
    """A leave-one-source-out fold model's per-image predictions (core.studies.crosssource)."""
    path = paths.artifacts_dir(root) / CROSSSOURCE_DIR / recipe / f"{fold}-{name}.csv"
    command = commands.command("crosssource", "--model", name)
    if not path.is_file():
        raise ArtifactError(f"artifact missing: {path} (write it with `{command}`)")
    return _table(path, command)


def load_benchmark(root: Path | None = None, file: str = BENCHMARK_FILE) -> dict:
    """A benchmark's results (one of BENCHMARKS), next to the model folders."""
    path = paths.artifacts_dir(root) / file
    if not path.is_file():
        raise ArtifactError(f"artifact missing: {path} (write it with `python -m {BENCHMARKS[file]}`)")
    return _json(path, writer(file))


def modified(root: Path | None = None) -> float:
    """The artifacts' latest modification time: a new one means, e.g., a new report."""
    folder = paths.artifacts_dir(root)
    return max((path.stat().st_mtime for path in folder.rglob("*") if path.is_file()), default=0.0)


def tflite_path(name: str, root: Path | None = None, int8: bool = False) -> Path:
    """Where a model's LiteRT copy lives (it may not exist: `python -m core litert` writes it)."""
    return model_dir(name, root) / (TFLITE_INT8_FILE if int8 else TFLITE_FILE)


def serving_tflite(name: str, root: Path | None = None) -> Path:
    """The LiteRT file the app predicts with: the int8 copy where the inference benchmark found it
    faster with the same answers (its INT8_SERVES), else the float32 one."""
    try:
        serves = load_benchmark(root)["models"][name].get(INT8_SERVES, False)
    except (ArtifactError, KeyError, TypeError):
        serves = False
    return tflite_path(name, root, int8=bool(serves))


def check_model(name: str, root: Path | None = None) -> Path:
    """The model file's path, if it looks like a Keras archive; a cheap check that loads nothing.

    Raises:
        ArtifactError: the file is missing.
        DamagedArtifactError: it is a Git LFS pointer, or not a complete Keras archive.
    """
    path = _path(name, MODEL_FILE, root)
    with path.open("rb") as file:
        if file.read(len(LFS_POINTER)) == LFS_POINTER:
            raise DamagedArtifactError(
                f"artifact damaged: {path} is a Git LFS pointer, not the model; fetch it with "
                f"`git lfs pull` or rewrite it with `{writer(MODEL_FILE, name)}`"
            )
    with reading(path, writer(MODEL_FILE, name)), zipfile.ZipFile(path) as archive:
        if missing := KERAS_ARCHIVE_FILES - set(archive.namelist()):
            raise ValueError(f"not a Keras archive, it lacks {', '.join(sorted(missing))}")
    return path


def load_model(name: str, root: Path | None = None) -> "keras.Model":
    """The saved Keras model, uncompiled, ready for inference on raw 0-255 RGB.

    Raises:
        ArtifactError: the file is missing.
        DamagedArtifactError: it cannot be read (see check_model).
    """
    import keras  # imported here so pages without a model never pay for TensorFlow

    path = check_model(name, root)
    with reading(path, writer(MODEL_FILE, name)):
        return keras.saving.load_model(path, compile=False)


@contextmanager
def staged_model_dir(name: str, root: Path | None = None, keep: Path | None = None) -> Iterator[Path]:
    """Yield an empty staging folder; on success it becomes artifacts/<name>, else it is removed.

    Args:
        keep: where the replaced artifacts/<name> goes (on the same file system); None deletes it.
    """
    root = paths.artifacts_dir(root)
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
    try:
        staging.rename(final)
    except BaseException:
        if previous.exists() and not final.exists():
            previous.rename(final)  # the folder as it was
        shutil.rmtree(staging, ignore_errors=True)
        raise
    if keep is not None and previous.exists():
        keep.parent.mkdir(parents=True, exist_ok=True)
        previous.rename(keep)
    shutil.rmtree(previous, ignore_errors=True)
