"""The cached loaders: tables and arrays as data, models and explainers as resources."""

from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import numpy as np
import pandas as pd
import streamlit as st

from core import artifacts
from core.data import subsets
from core.data.decode import DecodedImage, decode_image, decode_sized
from core.evaluation import calibration, compare, paired, seeds, verdict
from core.evaluation import examples as example_cases
from core.evaluation.evaluate import metrics_from_predictions, prediction_accuracy
from core.evaluation.examples import Example
from core.models import registry
from core.models.config import ModelConfig
from core.records import CrossSourceSummary, ExternalSummary, Metrics, WarningsSummary
from core.report import held_out
from core.serving.ood import Flag

T = TypeVar("T")


@st.cache_data
def model_names() -> list[str]:
    return artifacts.available_models()


@st.cache_data
def model_file_problems() -> list[str]:
    """What is wrong with each shipped model's model.keras (artifacts.check_model), if anything."""
    problems = []
    for name in model_names():
        try:
            artifacts.check_model(name)
        except artifacts.ArtifactError as error:
            problems.append(str(error))
    return problems


def optional(load: Callable[[], T]) -> T | None:
    """`load()`, or None where its artifact is missing or damaged: for pages that only mention it."""
    try:
        return load()
    except artifacts.ArtifactError:
        return None


@st.cache_data
def config(name: str) -> ModelConfig:
    return artifacts.load_config(name)


def architecture(name: str) -> registry.Architecture:
    """The registry's entry for a shipped model: its colours, names and layers."""
    return registry.get(config(name).architecture)


@st.cache_data
def titles() -> dict[str, str]:
    return {name: config(name).display_name for name in model_names()}


@st.cache_data
def metrics(name: str) -> Metrics:
    return artifacts.load_metrics(name)


def n_test_images() -> int:
    """How many test images the models were evaluated on."""
    return metrics(model_names()[0]).n_images


@st.cache_data
def manifest(name: str) -> dict:
    return artifacts.load_manifest(name)


@st.cache_data
def quickest_manifest(name: str) -> dict:
    return artifacts.load_quickest_manifest(name)


@st.cache_data
def history(name: str) -> dict:
    return artifacts.load_history(name)


@st.cache_data
def predictions(name: str) -> pd.DataFrame:
    return artifacts.load_predictions(name)


@st.cache_data
def validation_predictions(name: str) -> pd.DataFrame:
    return artifacts.load_predictions(name, split="validation")


@st.cache_data
def leakage_audit() -> dict | None:
    """The dataset's leakage audit, or None if the artifacts have none. Raises DamagedArtifactError."""
    return artifacts.unless_missing(artifacts.load_audit)


@st.cache_data
def provenance() -> dict | None:
    """Each image's source collection (core.data.provenance), or None. Raises DamagedArtifactError."""
    return artifacts.unless_missing(artifacts.load_provenance)


@st.cache_data
def crosssource(recipe: str = artifacts.CURRENT_RECIPE) -> CrossSourceSummary | None:
    """One recipe's leave-one-source-out results, or None. Raises DamagedArtifactError."""
    return artifacts.unless_missing(lambda: artifacts.load_crosssource(recipe))


@st.cache_data
def external() -> tuple[ExternalSummary, pd.DataFrame] | None:
    """The models on the external validation set (core.studies.external), or None."""
    return artifacts.unless_missing(artifacts.load_external)


@st.cache_data
def warning_counts() -> WarningsSummary | None:
    """What Live prediction's warnings catch (core.studies.warnings), or None."""
    return artifacts.unless_missing(artifacts.load_warnings)


@st.cache_data
def held_out_tumours() -> list[held_out.HeldOut]:
    """The tumours of every collection some model never trained on: each held-out fold of the
    current leave-one-source-out recipe, then the external set ([] without either)."""
    found = []
    if (summary := crosssource()) is not None:
        for fold, entry in summary.folds.items():
            tables = artifacts.unless_missing(
                lambda fold=fold, entry=entry: {
                    name: artifacts.load_crosssource_table(fold, name) for name in entry.models
                }
            )
            if tables:
                found.append(held_out.fold_tumours(fold, tables))
    if (outside := external()) is not None:
        found.append(held_out.external_tumours(outside[1], model_names()))
    return found


@st.cache_data
def localisation() -> tuple[dict, pd.DataFrame] | None:
    """Where the models look against the tumour boxes (core.studies.localisation), or None."""
    return artifacts.unless_missing(artifacts.load_localisation)


@st.cache_data
def boxes(data_dir: str) -> dict:
    """The tumour boxes of the dataset in `data_dir` (core.data.provenance), {} without a box file."""
    from core.data import provenance

    return provenance.read_boxes(provenance.boxes_path(Path(data_dir)))


@st.cache_data
def crosssource_recipes() -> list[str]:
    return artifacts.crosssource_recipes()


@st.cache_data
def audit_rows() -> dict[str, dict]:
    """Each test image's entry of the leakage audit by path ({} without an audit)."""
    result = leakage_audit()
    return {row["path"]: row for row in result["test_images"]} if result else {}


@st.cache_data
def audit_summary() -> subsets.AuditSummary | None:
    result = leakage_audit()
    return subsets.AuditSummary.from_json(result) if result else None


@st.cache_data
def benchmark(file: str = artifacts.BENCHMARK_FILE) -> dict | None:
    """A benchmark's results (inference by default, see artifacts.BENCHMARKS), or None if absent.

    Raises DamagedArtifactError: pages that only mention a benchmark read it through `optional`.
    """
    return artifacts.unless_missing(lambda: artifacts.load_benchmark(file=file))


@st.cache_data
def clean_paths() -> frozenset[str] | None:
    """The clean subset's test images, or None without an audit."""
    result = leakage_audit()
    return frozenset(subsets.clean_test_paths(result)) if result else None


@st.cache_data(show_spinner="Bootstrapping…")
def verdict_at(threshold: float) -> verdict.Verdict | None:
    """The accuracy verdict with the clean subset drawn at another near-duplicate threshold (the
    leakage audit page's slider); no seed spread. None with fewer than two models or no audit."""
    names, result = model_names(), leakage_audit()
    if len(names) < 2 or result is None:
        return None
    clean = frozenset(subsets.clean_test_paths(subsets.at_threshold(result, threshold)))
    return verdict.build(joined_predictions(subsets.FULL, calibrated=False), names, clean)


def _paths(subset: str) -> frozenset[str] | None:
    return clean_paths() if subset == subsets.CLEAN else None


@st.cache_data
def subset_predictions(name: str, subset: str) -> pd.DataFrame:
    return paired.restrict(predictions(name), _paths(subset))


@st.cache_data
def subset_metrics(name: str, subset: str) -> Metrics:
    """classification_metrics of one model on the chosen test images."""
    if subset == subsets.FULL:  # evaluation wrote them: no need to import scikit-learn yet
        return metrics(name)
    return metrics_from_predictions(subset_predictions(name, subset))


@st.cache_data
def subset_accuracy(name: str, subset: str) -> float:
    """One model's accuracy on the chosen test images, without scikit-learn: the first page needs
    no more, and importing it would cost about a second of the dashboard's start."""
    if subset == subsets.FULL:
        return metrics(name).accuracy
    return prediction_accuracy(subset_predictions(name, subset))


@st.cache_data
def _joined_predictions(subset: str, calibrated: bool = True) -> pd.DataFrame:
    compare.check_same_test_set({name: metrics(name) for name in model_names()})
    # Calibrated as answers are shown everywhere (a confidence sorted by or downloaded is one seen),
    # unless the caller reads labels alone.
    table = calibrated_predictions if calibrated else subset_predictions
    joined = compare.joined_predictions({name: table(name, subsets.FULL) for name in model_names()})
    return paired.restrict(joined, _paths(subset))


def joined_predictions(subset: str = subsets.FULL, calibrated: bool = True) -> pd.DataFrame:
    """Every model's test predictions side by side, each model's probabilities and confidences
    calibrated with its validation temperature; stops the page if they do not match.

    Args:
        calibrated: False for the models' own probabilities, where only labels are read (the
            same either way): no temperature is fitted, so the first page imports no SciPy.
    """
    try:
        return _joined_predictions(subset, calibrated)
    except ValueError as error:
        st.error(str(error))
        st.stop()


@st.cache_data(show_spinner="Bootstrapping…")
def paired_summary(subset: str) -> paired.PairedSummary:
    """The first two models compared on the chosen test images."""
    joined = joined_predictions(subset, calibrated=False)  # labels alone
    return paired.paired_summary(joined, model_names()[:2], intervals(subset))


@st.cache_data(show_spinner="Bootstrapping…")
def intervals(subset: str) -> dict[str, paired.Intervals]:
    """Each model's bootstrap intervals on the chosen test images."""
    return paired.model_intervals(joined_predictions(subset, calibrated=False), model_names())  # labels


@st.cache_data
def seed_spreads(subset: str) -> dict[str, seeds.Spread]:
    """Each model's runs over seeds (core train --seeds), scored on the chosen test images."""
    chosen = _paths(subset)  # None: every test image

    def runs(name: str) -> dict[int, pd.DataFrame]:
        tables = artifacts.load_run_predictions(name)
        return {seed: paired.restrict(table, chosen) for seed, table in tables.items()}

    return {name: seeds.spread(runs(name)) for name in model_names()}


@st.cache_data(show_spinner="Bootstrapping…")
def accuracy_verdict() -> verdict.Verdict | None:
    """The first two models on the full test set and the clean subset (core.evaluation.verdict), or None;
    from the same cached paired summaries and seed spreads the Overview shows below it."""
    names = model_names()
    if len(names) < 2:
        return None
    shown = [subsets.FULL] + ([subsets.CLEAN] if clean_paths() else [])
    rows = tuple(
        verdict.row(paired_summary(subset), subset, optional(lambda subset=subset: seed_spreads(subset)))
        for subset in shown
    )
    return verdict.Verdict(names=(names[0], names[1]), rows=rows)


@st.cache_data
def examples() -> list[Example]:
    """Live prediction's tray of example cases (core.evaluation.examples) from the shipped predictions;
    the photo alone where the models' test sets differ (the pages that compare them say so)."""
    try:
        joined = _joined_predictions(subsets.FULL)
    except ValueError:
        return [example_cases.PHOTO]
    flagged = example_cases.flagged_paths(model_names())
    return example_cases.pick(joined, model_names(), leakage_audit(), flagged)


@st.cache_data
def embedding() -> dict[str, np.ndarray] | None:
    """The embedding map (core.studies.embedding), or None without it. Raises DamagedArtifactError."""
    return artifacts.unless_missing(lambda: artifacts.load_dataset_arrays(artifacts.EMBEDDING_FILE))


@st.cache_data
def operating_threshold(name: str) -> float:
    """The model's P(tumour) threshold at the validated operating point, on its calibrated
    probabilities (core.evaluation.hospital)."""
    from core.evaluation.hospital import operating_threshold

    return operating_threshold(validation_predictions(name), temperature(name) or 1.0)


def operating_thresholds(names: list[str]) -> dict[str, float]:
    """operating_threshold of each model that has validation predictions."""
    found = {name: optional(lambda name=name: operating_threshold(name)) for name in names}
    return {name: threshold for name, threshold in found.items() if threshold is not None}


@st.cache_data
def calibration_report(name: str, subset: str) -> calibration.Report:
    """Temperature from the validation split; the chosen test images before and after it."""
    return calibration.report(validation_predictions(name), subset_predictions(name, subset))


@st.cache_data
def temperature(name: str) -> float | None:
    """The temperature fitted on the model's validation predictions, or None without them."""
    validation = artifacts.unless_missing(lambda: validation_predictions(name))
    return None if validation is None else calibration.validation_temperature(validation)


@st.cache_data
def calibrated_predictions(name: str, subset: str) -> pd.DataFrame:
    """The chosen test images' predictions with each model's validation temperature applied."""
    return calibration.scaled_table(subset_predictions(name, subset), temperature(name) or 1.0)


@st.cache_resource(show_spinner="Loading model…")
def predictor(name: str):
    from core.serving.predict import Predictor

    # LiteRT if its .tflite loads, else Keras; answers divided by the validation temperature
    return Predictor.from_artifacts(name, temperature=temperature(name) or 1.0)


@st.cache_resource(show_spinner="Building explainer…")
def explainer(name: str):
    from core.serving.gradcam import Explainer

    return Explainer(predictor(name).model, architecture(name).explain_layer)


@st.cache_resource(show_spinner="Loading the out-of-distribution guard…")
def checker(name: str):
    from core.serving.ood import Checker

    return Checker.from_artifacts(name, predictor(name).model)


@st.cache_resource(show_spinner="Loading the nearest training images…")
def neighbour_check():
    """core.serving.neighbours' second opinion on "no tumor", or None without its reference and copy,
    or without MobileNetV2 (the check reads the upload as MobileNetV2 decodes it)."""
    from core.models.registry import MOBILENETV2
    from core.serving.neighbours import NeighbourCheck

    if MOBILENETV2.name not in model_names():
        return None
    return artifacts.unless_missing(NeighbourCheck.from_artifacts)


def second_opinion(results: dict, answers: dict[str, str]) -> str | None:
    """The nearest training images' warning on a "no tumor" answer (core.serving.neighbours), if any.

    Args:
        results: model name -> its FilePrediction of the upload; answers: model title -> class name.
    """
    from core.models.registry import MOBILENETV2

    check = neighbour_check()
    if check is None or MOBILENETV2.name not in results:
        return None
    return check.warning(results[MOBILENETV2.name].image, answers)


def foreign_warnings(uploads: dict[str, DecodedImage]) -> dict[str, Flag]:
    """For an upload at each model's size: the models whose guard does not vouch for it, and why."""
    flags = {name: checker(name).flag(upload) for name, upload in uploads.items()}
    return {name: flag for name, flag in flags.items() if flag is not None}


@st.cache_data(show_spinner=False, max_entries=64)
def heatmap(name: str, image: np.ndarray, class_index: int, method: str) -> np.ndarray:
    """A CAM, cached so moving the opacity slider does not recompute it."""
    return explainer(name).heatmap(image, class_index, method)


@st.cache_data(show_spinner=False)
def test_image(data_dir: str, relpath: str, size: int) -> np.ndarray:
    return decode_image(Path(data_dir) / relpath, size, name=relpath)


def upload_inputs(data: bytes, name: str) -> dict[str, DecodedImage]:
    """An uploaded file decoded at each model's input size. Raises ImageError."""
    return {n: decode_sized(data, config(n).image_size, name=name) for n in model_names()}


def test_inputs(folder: Path, relpath: str) -> dict[str, np.ndarray]:
    """A test image decoded at each model's input size. Raises ImageError."""
    return {n: test_image(str(folder), relpath, config(n).image_size) for n in model_names()}
