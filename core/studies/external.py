"""The models on an external validation set: tumour slices from a collection the dataset does not contain.

CLI: python -m core external [--external DIR] [--model ...] [--artifacts DIR]

Every image in the folder shows a tumour, so the set measures tumour recall on an unseen
acquisition; its specificity side comes from the Testing no-tumour slices. Recall is given twice:
at the model's own answer (any class but "notumor"), which mixes how well the model ranks a
foreign tumour with where its decision falls, and at an operating point chosen on the validation
split, never on this set or on Testing: "tumour" where P(tumour) = 1 - P(notumor) is above the
threshold that keeps at least TARGET_SPECIFICITY of the validation no-tumour slices. At that
matched specificity, and by the area under the ROC (external tumours against Testing no-tumour
slices), the models compare on ranking alone. Every run of a model that keeps its model (core
train --seeds) is scored too, so the seed spread out of source stands beside the one in source.
Writes artifacts/external.json and external.csv (the served runs' answers).
"""

import dataclasses
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from core import artifacts, cli, paths
from core.data.dataset import NOTUMOR
from core.data.decode import decode_image
from core.data.imagefile import ImageError
from core.evaluation import stats
from core.evaluation.curves import TARGET_SPECIFICITY, operating_threshold, tumour_scores
from core.files import atomic_path, write_json
from core.models import registry
from core.records import ExternalSummary
from core.serving.predict import image_files

SCORE_FORMAT = "%.6g"
DEFAULT = paths.shown(paths.DEFAULT_EXTERNAL_DIR)


def score_model(
    external: np.ndarray, own_tumour: np.ndarray, validation: pd.DataFrame, test: pd.DataFrame
) -> dict:
    """One model's figures (core.records.ExternalModel's fields).

    Args:
        external: (N,) P(tumour) of the external slices; own_tumour: (N,) the model's own answer
            is a tumour class.
        validation, test: the model's predictions tables of the validation split and Testing.
    """
    threshold = operating_threshold(validation)
    no_tumour_val = tumour_scores(validation[validation["true_label"] == "notumor"])
    no_tumour_test = tumour_scores(test[test["true_label"] == "notumor"])
    ones = np.ones(len(external), np.int8)
    called = (external > threshold).astype(np.int8)
    kept = (no_tumour_test <= threshold).astype(np.int8)
    return {
        "threshold": threshold,
        "validation_specificity": float((no_tumour_val <= threshold).mean()),
        "recall_own": _interval(ones, own_tumour.astype(np.int8)),
        "recall": _interval(ones, called),
        "specificity": _interval(np.ones(len(kept), np.int8), kept),
        "auc": dataclasses.asdict(stats.auc_interval(external, no_tumour_test)),
    }


def _interval(right: np.ndarray, answered: np.ndarray) -> dict:
    return dataclasses.asdict(stats.bootstrap_interval(right, answered, "accuracy"))


def decode_folder(folder: Path, size: int) -> tuple[list[str], np.ndarray, list[str]]:
    """(files read, their (N, size, size, 3) uint8 images, files that could not be decoded)."""
    names, images, unreadable = [], [], []
    for path in image_files(folder):
        name = str(path.relative_to(folder))
        try:
            images.append(decode_image(path, size))
            names.append(name)
        except (ImageError, OSError):
            unreadable.append(name)
    return names, np.stack(images) if images else np.zeros((0, size, size, 3), np.uint8), unreadable


def score_runs(name: str, images: np.ndarray, root: Path | None = None) -> tuple[dict, np.ndarray]:
    """Every run of `name` that keeps its model on the external images: (the served run's
    figures with their estimates by seed under "runs", the served model's P(tumour))."""
    runs, served = {}, None
    for seed, run_folder in artifacts.model_runs(name, root).items():
        model, validation, test = artifacts.load_run(run_folder)
        probabilities = registry.predict_batches(model, images)
        scores = 1.0 - probabilities[:, NOTUMOR]
        figures = score_model(scores, probabilities.argmax(axis=1) != NOTUMOR, validation, test)
        if served is None:  # model_runs lists the served run first
            served = figures, scores
        runs[seed] = {key: figures[key]["estimate"] for key in ("recall_own", "recall", "specificity", "auc")}
        runs[seed]["threshold"] = figures["threshold"]
    if served is None:
        raise artifacts.ArtifactError(f"no model of {name} in the artifacts")
    return {**served[0], "runs": runs}, served[1]


def evaluate(folder: Path, names: list[str], root: Path | None = None) -> tuple[dict, pd.DataFrame]:
    """Every model in `names` on the external folder, each of its runs that keeps its model too:
    (the summary, one row per slice with the served models' scores)."""
    models, table, unreadable = {}, None, set()
    for name in names:
        config = artifacts.load_config(name, root)
        files, images, failed = decode_folder(folder, config.image_size)
        unreadable |= set(failed)
        models[name], scores = score_runs(name, images, root)
        columns = pd.DataFrame(
            {"file": files, f"{name}_tumour": scores, f"{name}_called": scores > models[name]["threshold"]}
        )
        table = columns if table is None else table.merge(columns, on="file", how="inner")
    if table is None or table.empty:
        raise FileNotFoundError(f"no readable image in the external folder {folder}")
    first = next(iter(models))
    summary = {
        "images": len(table),
        "unreadable": sorted(unreadable),
        "test_no_tumour": int((artifacts.load_predictions(first, root)["true_label"] == "notumor").sum()),
        "target_specificity": TARGET_SPECIFICITY,
        "models": models,
    }
    return summary, table


def main(argv: list[str] | None = None) -> None:
    parser = cli.parser(__doc__.splitlines()[0], data=False)
    parser.add_argument(
        "--external",
        help=f"folder of tumour slices (default: ${paths.EXTERNAL_ENV_VAR}, else {DEFAULT})",
    )
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    folder = paths.external_dir(args.external)
    if folder is None or not folder.is_dir():
        raise FileNotFoundError(
            f"external set not found ({folder or DEFAULT}): pass --external DIR "
            f"or set ${paths.EXTERNAL_ENV_VAR} to a folder of tumour slices"
        )
    root = Path(args.artifacts)
    names = [name for name in cli.selected_models(args.model) if name in artifacts.available_models(root)]
    summary, table = evaluate(folder, names, root)
    write_json(root / artifacts.EXTERNAL_FILE, summary)
    with atomic_path(root / artifacts.EXTERNAL_TABLE) as temporary:
        table.to_csv(temporary, index=False, float_format=SCORE_FORMAT)
    print(f"{summary['images']} external tumour slices", flush=True)
    for name, m in ExternalSummary.from_json(summary).models.items():
        print(
            f"[{name}] recall {m.recall_own.estimate:.1%} at its own answer, {m.recall.estimate:.1%} "
            f"at P(tumour) > {m.threshold:.3f} (Testing specificity {m.specificity.estimate:.1%}); "
            f"AUC {m.auc.estimate:.3f}",
            flush=True,
        )


if __name__ == "__main__":
    cli.run(main)
