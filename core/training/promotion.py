"""Finished training runs set beside the shipped models, and promoted to replace one of them.

`promote` replaces a shipped model folder with a finished run's, only when asked, and atomically;
`runs_table` compares the shipped models and every finished run's on the test set.
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
from core.training.runs import FINISHED, Run, list_runs, load_run

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
    artifacts.NEIGHBOURS_FILE: artifacts.writer(artifacts.NEIGHBOURS_FILE),
}


@dataclass(frozen=True)
class Promotion:
    """A shipped model folder replaced by a run's."""

    model: str
    run_id: str
    folder: Path  # the shipped folder that now holds the run's model
    stale: tuple[str, ...]  # derived artifacts written before it, each with the command that rewrites it

    def message(self) -> str:
        done = f"{self.folder} now holds {self.model} from run {self.run_id}."
        if not self.stale:
            return done
        return (
            f"{done} These were computed before and still come from the previous models until "
            f"regenerated (`make evaluate`, etc.): {'; '.join(self.stale)}."
        )


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


def promote(run: Run, model: str, artifacts_root: str | os.PathLike | None = None) -> Promotion:
    """Replace the shipped artifacts/<model>/ with the run's, atomically.

    The run's folder is copied beside the shipped one, then swapped in by renames; if anything
    fails the shipped folder stays as it was. The run keeps its own copy.

    Args:
        artifacts_root: the shipped artifacts folder (default: paths.artifacts_dir()).

    Raises:
        ValueError: the run is not finished, did not train `model`, or was evaluated on another
            test set than the other shipped models.
        ArtifactError: one of the run's files is missing or damaged.
    """
    run = load_run(run.folder)
    if run.status != FINISHED:
        raise ValueError(f"run {run.id} is {run.status}; only a finished run can be promoted")
    if model not in run.models:
        raise ValueError(f"run {run.id} trained {', '.join(run.models)}, not {model}")
    _check_complete(model, run.artifacts)
    root = paths.artifacts_dir(artifacts_root)
    _check_same_test_set(model, run.artifacts, root)
    with artifacts.staged_model_dir(model, root) as staging:  # swapped in whole, or not at all
        shutil.copytree(artifacts.model_dir(model, run.artifacts), staging, dirs_exist_ok=True)
    stale = tuple(f"{file} (`{command}`)" for file, command in DERIVED.items() if (root / file).exists())
    return Promotion(model, run.id, artifacts.model_dir(model, root), stale)


def _clean_accuracy(name: str, root: Path, metrics: dict, result: dict | None) -> float:
    """Accuracy on the audit's clean subset; NaN without an audit of this test set."""
    if result is None or result["dataset"].get("test_fingerprint") != metrics.get("test_fingerprint"):
        return float("nan")
    table = artifacts.load_predictions(name, root)
    clean = table[table["path"].isin(subsets.clean_test_paths(result))]
    return float((clean["true_label"] == clean["predicted_label"]).mean()) if len(clean) else float("nan")


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
        "training (min)": efficiency.training_seconds(manifest) / 60,  # as every page shows it
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
            continue
    return pd.DataFrame(rows, columns=TABLE_COLUMNS)
