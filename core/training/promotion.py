"""Finished training runs set beside the shipped models, and promoted to replace one of them.

`change` says what promoting a run's model would change, `promote` replaces a shipped model folder
with a finished run's (only when asked, atomically, never with a worse one unless told to) and
keeps the folder it replaces, which `restore` puts back; `runs_table` compares the shipped models
and every finished run's, and `damaged` names what cannot be read.
"""

import os
import shutil
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pandas as pd

from core import artifacts, paths
from core.data import subsets
from core.evaluation import efficiency
from core.evaluation.evaluate import prediction_accuracy
from core.records import Metrics
from core.training.runs import FINISHED, Run, broken_runs, list_runs, load_run

KEPT_FOLDER = "%Y%m%d-%H%M%S-%f"  # artifacts/.replaced/<when>/: the local time a folder was replaced
SHIPPED = "shipped"  # runs_table's run column for the models in artifacts/
TABLE_COLUMNS = (
    "model",
    "run",
    "accuracy",
    "macro F1",
    "clean accuracy",
    "epochs",
    "training (min)",
    "created",
)
# Artifacts computed from the shipped models (or next to them) that a promotion does not rewrite.
DERIVED = {
    artifacts.BENCHMARK_FILE: artifacts.writer(artifacts.BENCHMARK_FILE),
    artifacts.GUARD_REPORT_FILE: artifacts.writer(artifacts.GUARD_REPORT_FILE),
    artifacts.LOCALISATION_FILE: artifacts.writer(artifacts.LOCALISATION_FILE),
    artifacts.CROSSSOURCE_DIR: artifacts.writer(artifacts.CROSSSOURCE_SUMMARY),
    artifacts.WARNINGS_FILE: artifacts.writer(artifacts.WARNINGS_FILE),
    artifacts.EMBEDDING_FILE: artifacts.writer(artifacts.EMBEDDING_FILE),
}


@dataclass(frozen=True)
class Scores:
    """A model folder's figures that a promotion compares: validation decides, the test set informs."""

    validation_accuracy: float  # on the validation split, the same for every model and seed
    accuracy: float  # on the test set
    macro_f1: float
    test_fingerprint: str | None  # the test set (and so the dataset) they were scored on

    @classmethod
    def read(cls, name: str, root: Path) -> "Scores":
        """Raises ArtifactError: a file is missing or damaged."""
        metrics = artifacts.load_metrics(name, root)
        validation = artifacts.load_predictions(name, root, split="validation")
        return cls(
            prediction_accuracy(validation), metrics.accuracy, metrics.macro_f1, metrics.test_fingerprint
        )


@dataclass(frozen=True)
class Change:
    """What replacing the shipped folder of `model` with another would change."""

    model: str
    before: Scores | None  # the shipped folder's; None when there is none that can be read
    after: Scores

    @property
    def comparable(self) -> bool:
        """Both scored on the same dataset (the same test set, so the same validation split)."""
        return self.before is not None and self.before.test_fingerprint == self.after.test_fingerprint

    @property
    def worse(self) -> bool:
        """Lower validation accuracy than the shipped model's (the test set never decides)."""
        return self.comparable and self.after.validation_accuracy < self.before.validation_accuracy

    def table(self) -> pd.DataFrame:
        """One row per figure: shipped, new, change (in percentage points)."""
        rows = []
        for field, title in (
            ("validation_accuracy", "validation accuracy"),
            ("accuracy", "test accuracy"),
            ("macro_f1", "test macro F1"),
        ):
            before = getattr(self.before, field) if self.before else float("nan")
            after = getattr(self.after, field)
            rows.append(
                {"figure": title, "shipped": before, "new": after, "change (points)": 100 * (after - before)}
            )
        return pd.DataFrame(rows)

    def sentence(self) -> str:
        if self.before is None:
            return f"No shipped {self.model} to compare with: it would be the first."
        if not self.comparable:
            return (
                f"The shipped {self.model} was scored on another dataset: the figures below do not "
                "compare, and promoting it moves this model to this run's dataset."
            )
        points = 100 * (self.after.validation_accuracy - self.before.validation_accuracy)
        if self.worse:
            return (
                f"Worse on validation than the shipped {self.model} ({points:+.1f} points): "
                "promoting it needs your override."
            )
        return f"Validation accuracy {points:+.1f} points against the shipped {self.model}."


class WorseModel(ValueError):
    """The model would replace a shipped one that scores higher on validation."""


@dataclass(frozen=True)
class Promotion:
    """A shipped model folder replaced by a run's (or by a folder a promotion replaced)."""

    model: str
    origin: str  # "run <id>", or "the version replaced <when>"
    folder: Path  # the shipped folder that now holds the new model
    kept: Path | None  # the artifacts root the replaced folder went to (restore takes it back)
    stale: tuple[str, ...]  # derived artifacts written before it, each with the command that rewrites it

    def message(self) -> str:
        done = f"{self.folder} now holds {self.model} from {self.origin}."
        if self.kept is not None:
            done += " The version it replaced is kept: Restore puts it back."
        if not self.stale:
            return done
        return (
            f"{done} These were computed before and still come from the previous models until "
            f"regenerated (`make evaluate`, etc.): {'; '.join(self.stale)}."
        )


@dataclass(frozen=True)
class Replaced:
    """A shipped model folder that a promotion replaced, kept under artifacts/.replaced/<when>/."""

    model: str
    root: Path  # an artifacts root holding the one folder <model>/
    when: str  # local time it was replaced (YYYY-MM-DD HH:MM:SS)
    scores: Scores | None  # None: its files cannot be read
    problem: str | None  # why not


def _check_complete(name: str, root: Path) -> None:
    """Read every artifact of model `name` under `root` through the loaders, as the app will.

    Raises:
        ArtifactError: a file is missing or damaged.
    """
    for file in artifacts.ARTIFACT_FILES:
        if not (artifacts.model_dir(name, root) / file).is_file():
            raise artifacts.ArtifactError(f"artifact missing: {artifacts.model_dir(name, root) / file}")
    artifacts.check_model(name, root)
    artifacts.load_config(name, root)
    artifacts.load_history(name, root)
    artifacts.load_metrics(name, root)
    artifacts.load_manifest(name, root)
    artifacts.load_predictions(name, root)
    artifacts.load_predictions(name, root, split="validation")
    artifacts.load_arrays(name, artifacts.GUARD_FILE, root)


def _check_same_test_set(name: str, source: Path, root: Path) -> None:
    """The pages compare models image by image: the others shipped must share the test set."""
    fingerprint = artifacts.load_metrics(name, source).test_fingerprint
    for other in artifacts.available_models(root):
        if other == name:
            continue
        theirs = artifacts.load_metrics(other, root).test_fingerprint
        if theirs != fingerprint:
            raise ValueError(
                f"{name} of {source.parent.name} was evaluated on another test set ({fingerprint}) than "
                f"the shipped {other} ({theirs}); the pages compare models on the same test images"
            )


def _shipped_scores(model: str, root: Path) -> Scores | None:
    try:
        return Scores.read(model, root)
    except artifacts.ArtifactError:
        return None


def change(model: str, source: Path, artifacts_root: str | os.PathLike | None = None) -> Change:
    """What putting `source`/<model> (a run's artifacts, or a Replaced root) in place of the
    shipped folder would change.

    Raises:
        ArtifactError: one of its files is missing or damaged.
    """
    root = paths.artifacts_dir(artifacts_root)
    return Change(model, _shipped_scores(model, root), Scores.read(model, source))


def _swap_in(model: str, source: Path, root: Path, allow_worse: bool, origin: str) -> Promotion:
    """Check the folder `source`/<model> and swap it in, keeping the shipped one under REPLACED_DIR."""
    _check_complete(model, source)
    _check_same_test_set(model, source, root)
    proposed = change(model, source, root)
    if proposed.worse and not allow_worse:
        raise WorseModel(proposed.sentence())
    kept = root / artifacts.REPLACED_DIR / datetime.now().strftime(KEPT_FOLDER)
    shipped = artifacts.model_dir(model, root).exists()
    with artifacts.staged_model_dir(model, root, keep=kept / model) as staging:  # whole, or not at all
        shutil.copytree(artifacts.model_dir(model, source), staging, dirs_exist_ok=True)
    stale = tuple(f"{file} (`{command}`)" for file, command in DERIVED.items() if (root / file).exists())
    return Promotion(model, origin, artifacts.model_dir(model, root), kept if shipped else None, stale)


def promote(
    run: Run, model: str, artifacts_root: str | os.PathLike | None = None, allow_worse: bool = False
) -> Promotion:
    """Replace the shipped artifacts/<model>/ with the run's, atomically, keeping the one it replaces.

    The run's folder is copied beside the shipped one, then swapped in by renames; if anything
    fails the shipped folder stays as it was. The replaced folder goes to
    artifacts/.replaced/<when>/<model>/ (see `replaced`, `restore`); the run keeps its own copy.

    Args:
        artifacts_root: the shipped artifacts folder (default: paths.artifacts_dir()).
        allow_worse: promote even a model with lower validation accuracy than the shipped one.

    Raises:
        WorseModel: lower validation accuracy than the shipped model, and not `allow_worse`.
        ValueError: the run is not finished, did not train `model`, or was evaluated on another
            test set than the other shipped models.
        ArtifactError: one of the run's files is missing or damaged.
    """
    run = load_run(run.folder)
    if run.status != FINISHED:
        raise ValueError(f"run {run.id} is {run.status}; only a finished run can be promoted")
    if model not in run.models:
        raise ValueError(f"run {run.id} trained {', '.join(run.models)}, not {model}")
    return _swap_in(model, run.artifacts, paths.artifacts_dir(artifacts_root), allow_worse, f"run {run.id}")


def replaced(artifacts_root: str | os.PathLike | None = None) -> list[Replaced]:
    """The model folders promotions replaced, newest first; one that cannot be read says why."""
    found = []
    for folder in sorted(
        (paths.artifacts_dir(artifacts_root) / artifacts.REPLACED_DIR).glob("*/*"), reverse=True
    ):
        if not folder.is_dir():
            continue
        try:
            scores, problem = Scores.read(folder.name, folder.parent), None
        except artifacts.ArtifactError as error:
            scores, problem = None, str(error)
        try:
            when = f"{datetime.strptime(folder.parent.name, KEPT_FOLDER):%Y-%m-%d %H:%M:%S}"
        except ValueError:
            when = folder.parent.name
        found.append(Replaced(folder.name, folder.parent, when, scores, problem))
    return found


def restore(version: Replaced, artifacts_root: str | os.PathLike | None = None) -> Promotion:
    """Put a replaced folder back as the shipped one, keeping the folder it replaces in turn.

    Raises:
        ValueError: it was evaluated on another test set than the other shipped models.
        ArtifactError: one of its files is missing or damaged.
    """
    root = paths.artifacts_dir(artifacts_root)
    origin = f"the version replaced {version.when}"
    promoted = _swap_in(version.model, version.root, root, allow_worse=True, origin=origin)
    shutil.rmtree(version.root)  # restored: it is the shipped folder now
    return promoted


def _clean_accuracy(name: str, root: Path, metrics: Metrics, result: dict | None) -> float:
    """Accuracy on the audit's clean subset; NaN without an audit of this test set."""
    if result is None or result["dataset"].get("test_fingerprint") != metrics.test_fingerprint:
        return float("nan")
    table = artifacts.load_predictions(name, root)
    return prediction_accuracy(table[table["path"].isin(subsets.clean_test_paths(result))])


def _row(name: str, run: str, root: Path, result: dict | None) -> dict:
    metrics, manifest = artifacts.load_metrics(name, root), artifacts.load_manifest(name, root)
    history, config = artifacts.load_history(name, root), artifacts.load_config(name, root)
    created = datetime.fromisoformat(manifest["created"]).astimezone()
    return {
        "model": config.display_name,
        "run": run,
        "accuracy": metrics.accuracy,
        "macro F1": metrics.macro_f1,
        "clean accuracy": _clean_accuracy(name, root, metrics, result),
        "epochs": len(history["epochs"]),
        "training (min)": efficiency.training_seconds(artifacts.load_quickest_manifest(name, root)) / 60,
        "created": f"{created:%Y-%m-%d %H:%M}",
    }


def runs_table(
    runs_root: str | os.PathLike | None = None, artifacts_root: str | os.PathLike | None = None
) -> pd.DataFrame:
    """The shipped models and every finished run's, side by side on the test set.

    Columns: model (its title), run (its id, or SHIPPED), accuracy, macro F1, clean accuracy (on
    the shipped leakage audit's clean subset; NaN without one, or on another test set), epochs,
    training (min: efficiency.training_seconds), created (local time). A model whose files cannot
    be read is left out.
    """
    shipped = paths.artifacts_dir(artifacts_root)
    try:
        result = artifacts.load_audit(shipped)
    except artifacts.ArtifactError:
        result = None
    sources = [(name, SHIPPED, shipped) for name in artifacts.available_models(shipped)]
    sources += [
        (name, run.id, run.artifacts)
        for run in list_runs(runs_root)
        if run.status == FINISHED
        for name in run.models
    ]
    rows = []
    for name, run, root in sources:
        try:
            rows.append(_row(name, run, root, result))
        except (artifacts.ArtifactError, KeyError, TypeError):
            continue  # listed by `damaged`
    return pd.DataFrame(rows, columns=TABLE_COLUMNS)


def damaged(runs_root: str | os.PathLike | None = None) -> list[str]:
    """What the runs table leaves out, each naming its file: run folders whose run.json cannot
    be read, and finished runs whose model folders cannot."""
    problems = [str(error) for _, error in broken_runs(runs_root)]
    for run in list_runs(runs_root):
        if run.status != FINISHED:
            continue
        for name in run.models:
            try:
                _check_complete(name, run.artifacts)
            except artifacts.ArtifactError as error:
                problems.append(f"run {run.id}: {error}")
    return problems
