"""Predictions on uploaded files: one image, a batch, or a whole folder streamed to a CSV.

The folder's command line, with each model's calibration and operating point, is
core.evaluation.folder_predict (python -m core predict).
"""

import itertools
import os
import threading
import time
import warnings
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import astuple, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from core import artifacts, wording
from core.data.dataset import CLASS_NAMES, CLASS_TITLES, NOTUMOR
from core.data.decode import DecodedImage, decode_sized
from core.data.imagefile import FOLDER_SUFFIXES, ImageError
from core.models.config import ModelConfig
from core.models.registry import compiled
from core.serving.ood import Checker, Flag

if TYPE_CHECKING:
    import keras

    from core.serving.litert import LiteRTModel

CHUNK_SIZE = 32  # files read, decoded and classified at a time
MAX_BATCH_FILES = 100  # files one batch upload classifies; a whole folder goes through the CLI
NOT_RECOGNISED = "Not recognised"  # shown instead of a class for an image the guard flags
TOO_SMALL = "Too small to judge"  # instead of a class for an image flagged only once enlarged
NO_TUMOUR = CLASS_NAMES[NOTUMOR]
_EPSILON = 1e-12  # the smallest probability taken to a logarithm


def calibrated(probabilities: np.ndarray, temperature: float) -> np.ndarray:
    """Probabilities (N, C) as if the logits had been divided by `temperature` (temperature scaling).

    The models output softmax probabilities; their logarithms are the logits up to a constant,
    which softmax ignores. The most probable class stays the most probable whatever the temperature.
    """
    if temperature == 1.0:  # the model's own probabilities, bit for bit
        return probabilities
    logits = np.log(np.clip(probabilities, _EPSILON, 1.0)) / temperature
    logits -= logits.max(axis=1, keepdims=True)
    exp = np.exp(logits)
    return exp / exp.sum(axis=1, keepdims=True)


def confidence_text(probabilities: np.ndarray) -> str:
    """The shown confidence of one answer: its top class's probability, as its bar is labelled ("97.1%")."""
    return f"{float(np.max(probabilities)):.1%}"


@dataclass(frozen=True)
class FilePrediction:
    """One file classified by one model (Predictor.predict_file)."""

    upload: DecodedImage  # the file at the model's size, with its size in the file
    probabilities: np.ndarray  # (4,) Predictor.probabilities: the serving copy's, temperature-scaled
    inference_ms: float  # the model's own call
    wait_ms: float  # waiting for the model while other sessions' calls to it ran

    @property
    def image(self) -> np.ndarray:
        """(S, S, 3) uint8 at the model's size."""
        return self.upload.pixels


class Predictor:
    """A model with its config and its fastest call: LiteRT if its .tflite loads, else compiled Keras.

    Args:
        model: the Keras model; kept as `.model` for Grad-CAM whichever backend predicts.
        config: the model's config.
        tflite_path: its LiteRT copy (float32 or int8); missing or unusable means Keras predicts.
        temperature: divides the logits of every answer (`calibrated`); the app passes the one
            fitted on the model's validation predictions (core.evaluation.calibration), 1 keeps
            the model's own probabilities.
    """

    def __init__(
        self,
        model: "keras.Model",
        config: ModelConfig,
        tflite_path: Path | None = None,
        temperature: float = 1.0,
    ) -> None:
        if not temperature > 0:
            raise ValueError(f"temperature must be positive, got {temperature}: {config.name}")
        self.model, self.config, self.temperature = model, config, temperature
        self._litert = _load_litert(tflite_path, config.image_size)
        # One call at a time, whichever backend: the wait for it is timed apart from the call.
        self._lock = threading.Lock()
        self.backend = "Keras" if not self._litert else "LiteRT int8" if self._litert.quantized else "LiteRT"
        if not self._litert:
            self._call = compiled(model)
        size = config.image_size
        self.probabilities(np.zeros((1, size, size, 3), np.uint8))  # warm up now, not on the first upload

    @classmethod
    def from_artifacts(cls, name: str, root: Path | None = None, temperature: float = 1.0) -> "Predictor":
        """The saved model `name` with its LiteRT copy (artifacts.serving_tflite), if it has one."""
        return cls(
            artifacts.load_model(name, root),
            artifacts.load_config(name, root),
            artifacts.serving_tflite(name, root),
            temperature,
        )

    def probabilities(self, images: np.ndarray) -> np.ndarray:
        """(N, S, S, 3) uint8 at this model's size -> (N, 4) probabilities of the serving copy,
        divided by this predictor's temperature: the numbers shown for its answers."""
        with self._lock:
            return self._probabilities(images)

    def _probabilities(self, images: np.ndarray) -> np.ndarray:
        if self._litert:
            raw = self._litert.probabilities(images)
        else:
            raw = np.asarray(self._call(images.astype(np.float32)))
        return calibrated(raw, self.temperature)

    def predict_file(self, data: bytes, name: str) -> FilePrediction:
        """Decode and classify one file, timing the model's call apart from the wait for it.

        Raises:
            ImageError: the file is not a usable image.
        """
        upload = decode_sized(data, self.config.image_size, name=name)
        queued = time.perf_counter()
        with self._lock:  # held by another session's call, if any: that is the wait
            start = time.perf_counter()
            probabilities = self._probabilities(upload.pixels[None])[0]
            done = time.perf_counter()
        return FilePrediction(upload, probabilities, (done - start) * 1000, (start - queued) * 1000)


def _load_litert(path: Path | None, image_size: int) -> "LiteRTModel | None":
    """A LiteRTModel for `path`, or None (with a warning if the file exists but is unusable)."""
    if path is None or not Path(path).is_file():
        return None
    try:
        from core.serving.litert import LiteRTModel

        litert = LiteRTModel(path)
        if litert.image_size != image_size:
            raise ValueError(f"it takes {litert.image_size} px images, the model {image_size} px")
        return litert
    except (ImportError, ValueError, RuntimeError) as error:
        warnings.warn(f"LiteRT model unusable, predicting with Keras: {path}: {error}", stacklevel=3)
        return None


def tumour_probability(probabilities: np.ndarray) -> float:
    """P(tumour) = 1 - P(no tumor) of one image's probabilities."""
    return 1.0 - float(probabilities[NOTUMOR])


def called_tumour(probabilities: np.ndarray, threshold: float) -> bool:
    """The tumour / no-tumour answer at an operating point: P(tumour) above its threshold
    (core.evaluation.curves.operating_threshold: the no-tumour slices at or below it are kept)."""
    return tumour_probability(probabilities) > threshold


def operating_answer(probabilities: np.ndarray, threshold: float) -> str:
    """ "Tumour (P(tumour) 97% > 91%)" or "No tumour (P(tumour) 42% ≤ 91%)"."""
    p = tumour_probability(probabilities)
    if called_tumour(probabilities, threshold):
        return f"Tumour (P(tumour) {p:.0%} > {threshold:.0%})"
    return f"No tumour (P(tumour) {p:.0%} ≤ {threshold:.0%})"


def predict_files(
    predictors: dict[str, Predictor],
    files: Iterable[tuple[str, bytes]],
    on_progress: Callable[[int], None] | None = None,
    checkers: dict[str, Checker] | None = None,
    thresholds: dict[str, float] | None = None,
) -> pd.DataFrame:
    """Classify many files with every model; a bad file gets its error in its row, the rest go on.

    Args:
        checkers: model name -> its out-of-distribution Checker; when given, each image is
            scored and flagged if any model's guard finds it unlike the training data, or
            marked too small to judge if the only guards that flag it had to enlarge it.
        thresholds: model name -> its operating point's P(tumour) threshold; each model given one
            gets `<name>_tumour`, its tumour / no-tumour answer there (called_tumour).

    Returns:
        One row per file: file, error ("" when fine), then per model `<name>_label`,
        `<name>_confidence` and with a threshold `<name>_tumour`, `agree`, and with checkers
        `out_of_distribution` and `too_small`.
    """
    thresholds = thresholds or {}
    rows = []
    for done, (name, data) in enumerate(files, start=1):
        row: dict = {"file": name, "error": ""}
        try:
            flags = []
            for model_name, predictor in predictors.items():
                result = predictor.predict_file(data, name)
                row[f"{model_name}_label"] = CLASS_NAMES[int(result.probabilities.argmax())]
                row[f"{model_name}_confidence"] = float(result.probabilities.max())
                if model_name in thresholds:
                    row[f"{model_name}_tumour"] = called_tumour(result.probabilities, thresholds[model_name])
                if checkers and model_name in checkers:
                    flags.append(checkers[model_name].flag(result.upload))
            row["agree"] = len({row[f"{m}_label"] for m in predictors}) == 1
            if checkers:
                shown = refusal(flags)
                row["out_of_distribution"] = shown == NOT_RECOGNISED
                row["too_small"] = shown == TOO_SMALL
        except ImageError as error:
            row = {"file": name, "error": str(error)}
        rows.append(row)
        if on_progress:
            on_progress(done)
    columns = ["file", "error"]
    for m in predictors:
        columns += [f"{m}_label", f"{m}_confidence"] + ([f"{m}_tumour"] if m in thresholds else [])
    columns += ["agree"]
    columns += ["out_of_distribution", "too_small"] if checkers else []
    return pd.DataFrame(rows).reindex(columns=columns)


def refusal(flags: Iterable[Flag | None]) -> str | None:
    """What an upload is shown as instead of a class, given each model's guard (Checker.flag).

    NOT_RECOGNISED where some guard finds it unlike the training data, TOO_SMALL where every
    guard that flags it had to enlarge it first, None where no guard flags it.
    """
    raised = [flag for flag in flags if flag is not None]
    if not raised:
        return None
    return TOO_SMALL if all(flag.too_small for flag in raised) else NOT_RECOGNISED


def tumour_dispute(labels: dict[str, str]) -> str | None:
    """A warning where some models see a tumour and others none (model title -> class name), else None.

    On a collection it has not seen, a model misses tumours it would find in a familiar one
    (core.studies.crosssource); the other model's "tumour" is then the one sign of it the user gets.
    """
    says = {title: CLASS_TITLES[label] for title, label in labels.items()}
    no_tumour = {title for title, label in labels.items() if label == NO_TUMOUR}
    if not no_tumour or len(no_tumour) == len(labels):
        return None
    answers = "; ".join(f"{title}: {label}" for title, label in says.items())
    return (
        f"The models disagree on whether there is a tumour ({answers}). On scans unlike their "
        "training collections they miss tumours, so read *no tumor* here as *not known*."
    )


def doubted_no_tumour(probabilities: dict[str, np.ndarray]) -> str | None:
    """A warning where some model's most probable class is "no tumor" while its three tumour classes
    together are more probable (model title -> its probabilities as shown), else None.

    Its "no tumor" is then the likeliest single class but not a majority: the model leans to a
    tumour of no particular kind. The rule has no threshold of its own; it reads the probabilities
    the page shows, calibrated with the validation temperature.
    """
    no_tumour = {
        title: tumour_probability(p) for title, p in probabilities.items() if int(p.argmax()) == NOTUMOR
    }
    leaning = {title: share for title, share in no_tumour.items() if share > 0.5}
    if not leaning:
        return None
    one = len(leaning) == 1
    titles, shares = wording.listed(list(leaning)), wording.listed([f"{p:.1%}" for p in leaning.values()])
    return (
        f"{titles} {'answers' if one else 'answer'} *no tumor* as the likeliest single class, but not a "
        f"majority: the three tumour classes together get {shares}, so read *no tumor* here as *not known*."
    )


@dataclass(frozen=True)
class BatchSummary:
    """Counts of a predict_files table (or of several, added up)."""

    files: int = 0
    failed: int = 0  # refused: an error instead of labels
    agree: int = 0  # every model gives one label
    disagree: int = 0
    out_of_distribution: int = 0  # flagged by some model's guard (0 without checkers)
    too_small: int = 0  # flagged only by guards that had to enlarge it (0 without checkers)

    @property
    def classified(self) -> int:
        return self.files - self.failed

    def __add__(self, other: "BatchSummary") -> "BatchSummary":
        return BatchSummary(*(a + b for a, b in zip(astuple(self), astuple(other))))


def _marked(table: pd.DataFrame, column: str) -> pd.Series:
    """True for the rows of a predict_files table whose `column` (out_of_distribution, too_small) is."""
    if column not in table:  # predicted without checkers
        return pd.Series(False, index=table.index)
    return table[column].eq(True)  # NaN for failed rows


def batch_summary(table: pd.DataFrame) -> BatchSummary:
    """The counts of a predict_files table.

    A failed row has no `agree` and counts in neither agree nor disagree; nor does a flagged or
    too small row, whose labels are shown as NOT_RECOGNISED or TOO_SMALL, so the models'
    agreement there means nothing.
    """
    foreign, too_small = _marked(table, "out_of_distribution"), _marked(table, "too_small")
    judged = ~(foreign | too_small)
    return BatchSummary(
        files=len(table),
        failed=int(table["error"].ne("").sum()),
        agree=int((table["agree"].eq(True) & judged).sum()),
        disagree=int((table["agree"].eq(False) & judged).sum()),
        out_of_distribution=int(foreign.sum()),
        too_small=int(too_small.sum()),
    )


def shown_label(probabilities: np.ndarray, foreign: bool) -> str:
    """The class title of the most probable class, or NOT_RECOGNISED for a flagged image."""
    return NOT_RECOGNISED if foreign else CLASS_TITLES[CLASS_NAMES[int(probabilities.argmax())]]


def shown_time(prediction: FilePrediction) -> str:
    """The model's own time and the wait for it, apart: "6 ms inference, 40 ms waiting"."""
    return f"{prediction.inference_ms:.0f} ms inference, {prediction.wait_ms:.0f} ms waiting"


def shown_labels(table: pd.DataFrame, names: list[str]) -> pd.DataFrame:
    """A predict_files table with class titles for labels.

    Where the guard flags the image, the labels read NOT_RECOGNISED (TOO_SMALL where it had to be
    enlarged) and the confidences and operating-point answers are blank: a confidence for an image
    unlike the training data would be read as trust.
    """
    shown = table.copy()
    answers = [f"{name}_tumour" for name in names if f"{name}_tumour" in table]
    for name in names:
        shown[f"{name}_label"] = shown[f"{name}_label"].map(CLASS_TITLES, na_action="ignore")
    for column in answers:
        shown[column] = shown[column].map({True: "Tumour", False: "No tumour"}, na_action="ignore")
    for column, label in (("out_of_distribution", NOT_RECOGNISED), ("too_small", TOO_SMALL)):
        rows = _marked(table, column)
        for name in names:
            shown.loc[rows, f"{name}_label"] = label
            shown.loc[rows, f"{name}_confidence"] = np.nan
        shown.loc[rows, answers] = None
    return shown


def image_files(folder: Path, skipped: Counter[str] | None = None) -> Iterator[Path]:
    """Every image file under `folder`, walked lazily in sorted order; hidden files and folders skipped.

    Args:
        skipped: if given, counts the other (not hidden) files by suffix, e.g. {".txt": 2}.
    """
    for directory, subdirectories, files in os.walk(folder):
        subdirectories[:] = sorted(d for d in subdirectories if not d.startswith("."))
        for file in sorted(f for f in files if not f.startswith(".")):
            suffix = Path(file).suffix.lower()
            if suffix in FOLDER_SUFFIXES:
                yield Path(directory) / file
            elif skipped is not None:
                skipped[suffix or "(no suffix)"] += 1


def describe_skipped(skipped: Counter[str]) -> str:
    """E.g. "3 skipped: not an image suffix (.txt 2, .tif 1)"; most common suffix first."""
    by_count = sorted(skipped.items(), key=lambda item: (-item[1], item[0]))
    suffixes = ", ".join(f"{suffix} {count}" for suffix, count in by_count)
    return f"{skipped.total()} skipped: not an image suffix ({suffixes})" if skipped else "0 skipped"


def read_named(path: Path, folder: Path) -> tuple[str, bytes | None, str]:
    """(name relative to `folder`, the file's bytes or None, error message or "")."""
    name = path.relative_to(folder).as_posix()
    try:
        return name, path.read_bytes(), ""
    except OSError as error:
        return name, None, f"cannot read file ({error.strerror}): {name}"


def predict_stream(
    predictors: dict[str, Predictor],
    files: Iterable[Path],
    folder: Path,
    out: Path,
    chunk_size: int = CHUNK_SIZE,
    on_chunk: Callable[[int], None] | None = None,
    checkers: dict[str, Checker] | None = None,
    thresholds: dict[str, float] | None = None,
) -> BatchSummary:
    """Classify files chunk by chunk, appending each chunk's rows to the CSV `out`.

    `files` is consumed lazily, so only one chunk of files is ever in memory.

    Args:
        predictors: model name -> Predictor.
        files: the image files, e.g. image_files(folder).
        folder: the CSV names files relative to it.
        out: the CSV to write (replaced), with predict_files' columns.
        on_chunk: called with the number of files done after each chunk.
        checkers, thresholds: as for predict_files.

    Returns:
        The counts of every chunk's rows added up.
    """
    files = iter(files)
    summary = BatchSummary()
    columns = predict_files(predictors, [], checkers=checkers, thresholds=thresholds).columns
    pd.DataFrame(columns=columns).to_csv(out, index=False)
    while chunk := [read_named(path, folder) for path in itertools.islice(files, chunk_size)]:
        readable = [(name, data) for name, data, _ in chunk if data is not None]
        table = predict_files(predictors, readable, checkers=checkers, thresholds=thresholds)
        unreadable = [{"file": name, "error": error} for name, _, error in chunk if error]
        if unreadable:  # back in walk order among the others
            table = pd.concat([table, pd.DataFrame(unreadable)]).set_index("file")
            table = table.loc[[name for name, _, _ in chunk]].reset_index()
        table.reindex(columns=columns).to_csv(out, mode="a", header=False, index=False)
        summary += batch_summary(table)
        if on_chunk:
            on_chunk(summary.files)
    return summary
