"""Evaluate the shipped models on your own labelled folder: accuracy or tumour recall, confusion, failures.

Each share comes with a 95% Wilson interval (core.evaluation.stats.proportion_interval), honest for a
handful of images too; the models' own guards flag the images unlike their training data.

Layouts (folder names in any case; hidden files and folders ignored; images found recursively):
- by class: glioma/, meningioma/, notumor/, pituitary/ (or core.data.dataset's aliases), any subset;
- tumour / no tumour: e.g. tumor/ and no_tumor/, or yes/ and no/ (TUMOUR_FOLDERS, NO_TUMOUR_FOLDERS).

CLI: python -m core folder FOLDER [--model NAME|all] [--artifacts DIR] [--out results.csv]
"""

import itertools
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from core import cli, paths
from core.data.dataset import CLASS_ALIASES, CLASS_NAMES, LABEL_TITLES, TUMOUR, DatasetError
from core.data.imagefile import FOLDER_SUFFIXES
from core.evaluation import stats
from core.evaluation.stats import percent_interval
from core.serving.ood import Checker
from core.serving.predict import (
    CHUNK_SIZE,
    NO_TUMOUR,
    NOT_RECOGNISED,
    TOO_SMALL,
    Predictor,
    describe_skipped,
    image_files,
    predict_files,
    read_named,
)

CLASSES = "classes"  # LabelledFolder.kind: class sub-folders; TUMOUR (tumour / no tumour) is the other
TUMOUR_FOLDERS = frozenset({"tumor", "tumour", "yes", "tumors", "tumours"})
NO_TUMOUR_FOLDERS = frozenset(
    {"notumor", "no_tumor", "no-tumor", "notumour", "no_tumour", "no-tumour", "no", "normal", "healthy"}
)
TUMOUR_AXIS = (TUMOUR, NO_TUMOUR)  # rows and columns of a tumour-layout confusion
LAYOUTS = (
    "The folder holds one sub-folder per label, images anywhere inside it: by class "
    f"({', '.join(CLASS_NAMES)}; any of them), or tumour / no tumour "
    "(e.g. tumor and no_tumor, or yes and no). Hidden files and folders are ignored."
)


@dataclass(frozen=True)
class LabelledFolder:
    """The images of a labelled folder and their labels (find_labelled)."""

    folder: Path
    files: list[Path]  # every image, in label-folder order, then walk order
    labels: list[str]  # per file: a CLASS_NAMES entry, or TUMOUR
    kind: str  # CLASSES or TUMOUR
    skipped: dict[str, int]  # files with no image suffix, by suffix, e.g. {".txt": 2}
    unlabelled: int = 0  # images directly in `folder`, outside any label folder


def _label_of(folder_name: str) -> str | None:
    """The label a sub-folder's images get, or None if its name is not a label."""
    name = folder_name.lower()
    if name in NO_TUMOUR_FOLDERS:
        return NO_TUMOUR
    if name in TUMOUR_FOLDERS:
        return TUMOUR
    name = CLASS_ALIASES.get(name, name)
    return name if name in CLASS_NAMES else None


class NoLabelFolders(DatasetError):
    """A folder none of whose sub-folders is named for a label (a flat folder of images, say)."""


def _layout_problem(folder: Path, found: list[str], problem: str) -> str:
    shown = ", ".join(found) if found else "no sub-folders"
    return f"{problem} in {folder} (found: {shown}). {LAYOUTS}"


def readable_folder(folder: Path | str) -> Path:
    """`folder` (a user's `~` expanded) if it is a folder this process can list, inside one of
    paths.folder_roots() where they are set.

    Raises:
        DatasetError: it is missing, a file, outside those roots, or cannot be read (no permission,
            a name too long).
    """
    roots = paths.folder_roots()
    try:
        folder = Path(folder).expanduser()  # "~nobody": RuntimeError
        if roots and not any(folder.resolve().is_relative_to(root) for root in roots):
            problem = f"not in the folders this server opens (${paths.FOLDERS_ENV_VAR})"
        elif folder.is_dir():
            next(folder.iterdir(), None)  # listing it is what the caller does next
            return folder
        else:
            problem = "not a folder but a file" if folder.exists() else "folder not found"
    except (OSError, RuntimeError) as error:  # RuntimeError: a symlink loop, an unknown ~user
        problem = f"cannot read the folder ({getattr(error, 'strerror', None) or error})"
    raise DatasetError(f"{problem}: {folder}")


def find_labelled(folder: Path) -> LabelledFolder:
    """The images of a labelled folder and their labels, from the names of its sub-folders.

    Raises:
        NoLabelFolders: no sub-folder is named for a label.
        DatasetError: the folder is missing or unreadable, some sub-folders are labels and others
            not, tumour folders are mixed with tumour classes, or there are no images.
    """
    folder = readable_folder(folder)
    children = sorted(
        (c for c in folder.iterdir() if not c.name.startswith(".")), key=lambda c: c.name.lower()
    )
    subfolders = [c for c in children if c.is_dir()]
    found = [c.name for c in subfolders]
    labels = {c: _label_of(c.name) for c in subfolders}
    unknown = [c.name for c, label in labels.items() if label is None]
    if unknown:  # all of them: no label folders; some: a mistake in a labelled folder
        refused = NoLabelFolders if len(unknown) == len(labels) else DatasetError
        raise refused(_layout_problem(folder, found, f"not a label folder: {', '.join(unknown)}"))
    if not labels:
        raise NoLabelFolders(_layout_problem(folder, found, "no label folders"))
    present = set(labels.values())
    if TUMOUR in present and present - {TUMOUR, NO_TUMOUR}:
        raise DatasetError(_layout_problem(folder, found, "tumour folders mixed with tumour classes"))

    skipped: Counter[str] = Counter()
    files, file_labels = [], []
    for subfolder, label in labels.items():
        images = list(image_files(subfolder, skipped))
        files += images
        file_labels += [label] * len(images)
    loose = [c for c in children if c.is_file()]
    unlabelled = sum(c.suffix.lower() in FOLDER_SUFFIXES for c in loose)
    skipped.update(
        c.suffix.lower() or "(no suffix)" for c in loose if c.suffix.lower() not in FOLDER_SUFFIXES
    )
    if not files:
        raise DatasetError(f"no images in the label folders of {folder} (found: {', '.join(found)})")
    kind = TUMOUR if TUMOUR in present else CLASSES
    return LabelledFolder(folder, files, file_labels, kind, dict(skipped), unlabelled)


@dataclass(frozen=True)
class LeadFigure:
    metric: str  # "accuracy", "tumour recall" or "specificity"
    interval: stats.Interval


@dataclass(frozen=True)
class ModelScores:
    """One model's figures on a labelled folder (scores)."""

    model: str
    kind: str  # CLASSES or TUMOUR
    images: int  # scored: read and decoded
    failed: int  # could not be read or decoded, so not scored
    accuracy: stats.Interval | None  # kind CLASSES only
    tumour_recall: stats.Interval | None  # share of tumour images called any tumour class; None without any
    specificity: stats.Interval | None  # share of no-tumour images called no tumour; None without any
    class_images: dict[str, int]  # true label -> images scored
    class_correct: dict[str, int]  # true label -> right answers (for TUMOUR: any tumour class)
    confusion: list[list[int]]  # rows true, columns predicted, both in the order of `axis`
    axis: tuple[str, ...]  # CLASS_NAMES, or TUMOUR_AXIS
    flagged: int  # images this model's guard finds unlike the training data
    too_small: int  # images its guard flagged only once enlarged

    @property
    def headline(self) -> LeadFigure | None:
        """Accuracy by class; tumour recall (else specificity) for tumour folders; None if nothing scored."""
        if self.kind == CLASSES and self.accuracy:
            return LeadFigure("accuracy", self.accuracy)
        if self.tumour_recall:
            return LeadFigure("tumour recall", self.tumour_recall)
        return LeadFigure("specificity", self.specificity) if self.specificity else None


def _is_tumour(labels: pd.Series) -> np.ndarray:
    return labels.ne(NO_TUMOUR).to_numpy(np.int8)  # 1 tumour (any class, or TUMOUR), 0 no tumour


def _correct(true: pd.Series, predicted: pd.Series, kind: str) -> pd.Series:
    """Right answers: the class itself, or for tumour folders, tumour or not."""
    if kind == CLASSES:
        return true.eq(predicted)
    return true.eq(TUMOUR).eq(predicted.ne(NO_TUMOUR))


def scores(table: pd.DataFrame, model: str, kind: str) -> ModelScores:
    """One model's figures from an evaluate_folder table; failed files are counted, not scored.

    Args:
        table: columns file, true_label, error and `<model>_label`, `<model>_out_of_distribution`,
            `<model>_too_small`.
        kind: CLASSES or TUMOUR, as the folder's.
    """
    failed = table["error"].ne("")
    scored = table[~failed]
    true, predicted = scored["true_label"], scored[f"{model}_label"]
    axis = CLASS_NAMES if kind == CLASSES else TUMOUR_AXIS
    shown_predicted = predicted if kind == CLASSES else predicted.where(predicted.eq(NO_TUMOUR), TUMOUR)
    confusion = np.zeros((len(axis), len(axis)), int)
    np.add.at(
        confusion, (true.map(axis.index).to_numpy(int), shown_predicted.map(axis.index).to_numpy(int)), 1
    )

    is_tumour, called_tumour = _is_tumour(true), _is_tumour(predicted)
    # Each share is of its own images (tumour or not), with Wilson's interval: a folder may hold a
    # handful, all found, where a bootstrap interval collapses to a point.
    tumours, healthy = is_tumour == 1, is_tumour == 0
    tumour_recall = specificity = accuracy = None
    if tumours.any():
        tumour_recall = stats.proportion_interval(called_tumour[tumours] == 1)
    if healthy.any():
        specificity = stats.proportion_interval(called_tumour[healthy] == 0)
    correct = _correct(true, predicted, kind)
    if kind == CLASSES and len(scored):
        accuracy = stats.proportion_interval(correct.to_numpy())
    return ModelScores(
        model=model,
        kind=kind,
        images=len(scored),
        failed=int(failed.sum()),
        accuracy=accuracy,
        tumour_recall=tumour_recall,
        specificity=specificity,
        class_images={label: int(n) for label, n in true.value_counts().items()},
        class_correct={label: int(n) for label, n in correct.groupby(true).sum().items()},
        confusion=confusion.tolist(),
        axis=axis,
        flagged=int(scored[f"{model}_out_of_distribution"].eq(True).sum()),
        too_small=int(scored[f"{model}_too_small"].eq(True).sum()),
    )


def failure_table(table: pd.DataFrame, model: str, kind: str) -> pd.DataFrame:
    """The scored images one model gets wrong or its guard flags, labels as titles.

    Returns:
        Columns file, true label, predicted, confidence, guard (NOT_RECOGNISED, TOO_SMALL or "").
    """
    scored = table[table["error"].eq("")]
    foreign = scored[f"{model}_out_of_distribution"].eq(True)
    too_small = scored[f"{model}_too_small"].eq(True)
    wrong = ~_correct(scored["true_label"], scored[f"{model}_label"], kind)
    rows = scored[wrong | foreign | too_small]
    guard = np.select([foreign[rows.index], too_small[rows.index]], [NOT_RECOGNISED, TOO_SMALL], "")
    return pd.DataFrame(
        {
            "file": rows["file"],
            "true label": rows["true_label"].map(LABEL_TITLES),
            "predicted": rows[f"{model}_label"].map(LABEL_TITLES),
            "confidence": rows[f"{model}_confidence"],
            "guard": guard,
        }
    ).reset_index(drop=True)


@dataclass(frozen=True)
class FolderEvaluation:
    """Every model on one labelled folder (evaluate_folder)."""

    folder: Path
    kind: str  # CLASSES or TUMOUR
    table: pd.DataFrame  # one row per file: file, true_label, error, per model label/confidence/flags
    scores: dict[str, ModelScores]  # model name -> its figures
    skipped: dict[str, int]  # as LabelledFolder's
    unlabelled: int

    @property
    def unreadable(self) -> pd.DataFrame:
        """The files that could not be read or decoded: file, error."""
        return self.table.loc[self.table["error"].ne(""), ["file", "error"]].reset_index(drop=True)

    def failures(self, model: str) -> pd.DataFrame:
        return failure_table(self.table, model, self.kind)


def _model_columns(model: str) -> list[str]:
    return [f"{model}_{field}" for field in ("label", "confidence", "out_of_distribution", "too_small")]


def _classify(
    predictors: dict[str, Predictor],
    checkers: dict[str, Checker] | None,
    chunk: list[tuple[str, bytes | None, str]],
) -> pd.DataFrame:
    """predict_files once per model, so each model's own guard flag stays apart; unreadable files
    keep their read error."""
    readable = [(name, data) for name, data, _ in chunk if data is not None]
    table = pd.DataFrame({"file": [name for name, _, _ in chunk], "error": [error for _, _, error in chunk]})
    rows = table.index[table["error"].eq("")]
    for model, predictor in predictors.items():
        guard = {model: checkers[model]} if checkers and model in checkers else None
        result = predict_files({model: predictor}, readable, checkers=guard).set_index(rows)
        table.loc[rows, "error"] = table.loc[rows, "error"].where(
            table.loc[rows, "error"].ne(""), result["error"]
        )
        flags = result[["out_of_distribution", "too_small"]] if guard else pd.DataFrame(False, rows, range(2))
        table[_model_columns(model)] = pd.concat(
            [result[[f"{model}_label", f"{model}_confidence"]], flags], axis=1
        )
    failed = table["error"].ne("")
    if failed.any():  # a file one model refuses is scored for none; object columns, as predict_files'
        flags = [f"{model}_{flag}" for model in predictors for flag in ("out_of_distribution", "too_small")]
        table[flags] = table[flags].astype(object)
        table.loc[failed, [column for model in predictors for column in _model_columns(model)]] = np.nan
    return table


def evaluate_folder(
    predictors: dict[str, Predictor],
    checkers: dict[str, Checker] | None,
    labelled: LabelledFolder,
    on_progress: Callable[[int, int], None] | None = None,
    chunk_size: int = CHUNK_SIZE,
) -> FolderEvaluation:
    """Classify a labelled folder chunk by chunk (one chunk of file bytes in memory) and score it.

    Args:
        predictors: model name -> Predictor.
        checkers: model name -> its out-of-distribution Checker (a model without one flags nothing).
        on_progress: called with (files done, files in all) after each chunk.

    Returns:
        The per-file table and each model's figures; a file that cannot be read or decoded has its
        error in its row and is left out of the figures.
    """
    pairs = iter(zip(labelled.files, labelled.labels))
    tables, done, total = [], 0, len(labelled.files)
    while chunk := list(itertools.islice(pairs, chunk_size)):
        table = _classify(predictors, checkers, [read_named(path, labelled.folder) for path, _ in chunk])
        table.insert(1, "true_label", [label for _, label in chunk])
        tables.append(table)
        done += len(chunk)
        if on_progress:
            on_progress(done, total)
    columns = ["file", "true_label", "error", *(c for model in predictors for c in _model_columns(model))]
    table = pd.concat(tables, ignore_index=True) if tables else pd.DataFrame(columns=columns)
    confidences = [f"{model}_confidence" for model in predictors]
    table[confidences] = table[confidences].astype(float)  # object where a chunk had no readable file
    return FolderEvaluation(
        folder=labelled.folder,
        kind=labelled.kind,
        table=table,
        scores={model: scores(table, model, labelled.kind) for model in predictors},
        skipped=labelled.skipped,
        unlabelled=labelled.unlabelled,
    )


def describe(figures: ModelScores) -> str:
    """One line of a model's figures, e.g. "accuracy 92.5% (95% CI ...), ... on 40 images; ..."."""
    named = [("accuracy", figures.accuracy), ("tumour recall", figures.tumour_recall)]
    named.append(("specificity", figures.specificity))
    shown = ", ".join(f"{name} {percent_interval(interval)}" for name, interval in named if interval)
    return (
        f"{shown or 'nothing scored'} on {figures.images:,} images; its guard flagged {figures.flagged:,} "
        f"as unlike the training data and {figures.too_small:,} as too small to judge; "
        f"{figures.failed:,} failed"
    )


def main(argv: list[str] | None = None) -> None:
    parser = cli.parser(__doc__.splitlines()[0], data=False)
    parser.add_argument("folder", metavar="FOLDER", help=LAYOUTS)
    parser.add_argument("--out", help="CSV to write, one row per file")
    parser.add_argument("--chunk-size", type=int, default=CHUNK_SIZE, help="files in memory at a time")
    args = parser.parse_args(argv)
    if args.chunk_size < 1:
        parser.error("--chunk-size must be at least 1")
    # Checked before the models load (seconds), so a bad folder or --out fails at once.
    labelled = find_labelled(Path(args.folder))
    out = Path(args.out) if args.out else None
    if out and out.is_dir():
        raise FileNotFoundError(f"--out is a folder, not a CSV file: {out}")
    if out and not out.parent.is_dir():
        raise FileNotFoundError(f"folder for --out not found: {out.parent}")
    root = Path(args.artifacts)
    predictors = {name: Predictor.from_artifacts(name, root) for name in cli.selected_models(args.model)}
    checkers = {name: Checker.from_artifacts(name, p.model, root) for name, p in predictors.items()}
    layout = "by class" if labelled.kind == CLASSES else "tumour / no tumour"
    print(f"evaluating {len(labelled.files):,} images under {labelled.folder} ({layout})", flush=True)
    start = time.perf_counter()
    evaluation = evaluate_folder(
        predictors,
        checkers,
        labelled,
        on_progress=lambda done, total: print(f"{done}/{total} images done", flush=True),
        chunk_size=args.chunk_size,
    )
    print(f"done in {time.perf_counter() - start:.1f} s; {describe_skipped(Counter(labelled.skipped))}")
    for name, figures in evaluation.scores.items():
        print(f"{name}: {describe(figures)}", flush=True)
    if out:
        evaluation.table.to_csv(out, index=False)
        print(f"wrote {out}", flush=True)


if __name__ == "__main__":
    cli.run(main)
