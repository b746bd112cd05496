"""Evaluation: scikit-learn metrics, per-image predictions and model facts.

CLI: python -m core evaluate --model {mobilenetv2,custom_cnn,all} [--data DIR] [--no-cache]
re-evaluates the saved models and rewrites their metrics.json, predictions.csv (Testing),
validation_predictions.csv (the validation split) and ood.npz (the out-of-distribution guard).
"""

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from core import artifacts, cli, paths
from core.artifacts import PREDICTIONS_FILE, VALIDATION_FILE
from core.data.cache import FIT_SPLIT, VALIDATION_SPLIT, cached_images
from core.data.dataset import (
    CLASS_NAMES,
    PROBABILITY_COLUMNS,
    TEST_SPLIT,
    TRAIN_SPLIT,
    Sample,
    class_indices,
    find_samples,
    fingerprint,
)
from core.data.duplicates import validation_split
from core.files import atomic_path, write_json
from core.models.config import ModelConfig
from core.records import Metrics
from core.serving import ood

if TYPE_CHECKING:
    import keras

LABELS = list(range(len(CLASS_NAMES)))


def classification_metrics(y_true: np.ndarray, probabilities: np.ndarray) -> dict:
    """Accuracy, macro/weighted F1, per-class P/R/F1/support, confusion matrix, one-vs-rest AUC.

    Args:
        y_true: (N,) class indices.
        probabilities: (N, 4) softmax outputs.
    """
    # Imported here: scikit-learn (with SciPy) takes over a second to import, which the
    # dashboard's first page, reading metrics.json, should not wait for.
    from sklearn.metrics import (
        accuracy_score,
        confusion_matrix,
        f1_score,
        precision_recall_fscore_support,
        roc_auc_score,
    )

    y_pred = probabilities.argmax(axis=1)
    precision, recall, f1, support = precision_recall_fscore_support(
        y_true, y_pred, labels=LABELS, zero_division=0
    )
    all_classes_present = len(np.unique(y_true)) == len(LABELS)
    return {
        "n_images": int(len(y_true)),
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "macro_f1": float(f1_score(y_true, y_pred, labels=LABELS, average="macro", zero_division=0)),
        "weighted_f1": float(f1_score(y_true, y_pred, labels=LABELS, average="weighted", zero_division=0)),
        "roc_auc_ovr": float(roc_auc_score(y_true, probabilities, multi_class="ovr", labels=LABELS))
        if all_classes_present
        else None,
        "per_class": {
            name: {
                "precision": float(precision[i]),
                "recall": float(recall[i]),
                "f1": float(f1[i]),
                "support": int(support[i]),
            }
            for i, name in enumerate(CLASS_NAMES)
        },
        # Rows are true classes, columns predicted classes, both in CLASS_NAMES order.
        "confusion_matrix": confusion_matrix(y_true, y_pred, labels=LABELS).tolist(),
    }


def predictions_table(samples: list[Sample], probabilities: np.ndarray) -> pd.DataFrame:
    """One row per image: path, true label, predicted label and the four probabilities."""
    table = pd.DataFrame(
        {
            "path": [s.relpath for s in samples],
            "true_label": [CLASS_NAMES[s.label] for s in samples],
            "predicted_label": [CLASS_NAMES[i] for i in probabilities.argmax(axis=1)],
        }
    )
    table[PROBABILITY_COLUMNS] = probabilities
    return table


def prediction_accuracy(table: pd.DataFrame) -> float:
    """The share of a predictions table's rows whose predicted label is the true one (NaN for none):
    metrics_from_predictions' accuracy without scikit-learn, which a first page should not import."""
    return float((table["true_label"] == table["predicted_label"]).mean())


def metrics_from_predictions(table: pd.DataFrame) -> Metrics:
    """classification_metrics recomputed from a predictions table (e.g. a subset's)."""
    y_true = class_indices(table["true_label"])
    return Metrics.from_json(classification_metrics(y_true, table[PROBABILITY_COLUMNS].to_numpy()))


def model_facts(model: "keras.Model", model_file: Path, trainable_params: int) -> dict:
    return {
        "total_params": int(model.count_params()),
        "trainable_params": int(trainable_params),
        "file_size_mb": model_file.stat().st_size / 1e6,
    }


@dataclass(frozen=True)
class Evaluation:
    metrics: dict  # test-set metrics, fingerprint, skipped files (metrics.json)
    test: pd.DataFrame  # per test image: labels, probabilities, OOD score
    validation: pd.DataFrame  # the same for the validation split (calibration, OOD threshold)
    guard: ood.Guard


@dataclass(frozen=True)
class SplitPredictions:
    """One split's images through the model."""

    kept: list[Sample]  # the images decoded, in order
    labels: np.ndarray  # (N,) class indices
    skipped: list[tuple[str, str]]  # (relpath, message) of the files that could not be decoded
    features: np.ndarray  # (N, D) penultimate features (the guard's input)
    probabilities: np.ndarray  # (N, 4)

    def table(self, guard: ood.Guard) -> pd.DataFrame:
        """predictions_table with each image's out-of-distribution score."""
        result = predictions_table(self.kept, self.probabilities)
        result[ood.SCORE_COLUMN] = guard.scores(self.features)
        return result


def evaluate(
    model: "keras.Model",
    config: ModelConfig,
    data_dir: Path,
    use_cache: bool = True,
    split: tuple[list[Sample], list[Sample]] | None = None,
) -> Evaluation:
    """Predict the Testing and validation images and fit the out-of-distribution guard.

    The validation split is the seeded one training held out (same config, same split). The
    guard is fitted on the features of the rest of Training, its threshold on validation.
    Unreadable images are skipped and listed in metrics["skipped"].

    Args:
        use_cache: read and write decoded images in the disk cache (core.data.cache), where training
            left its two splits.
        split: training's (fit, validation) samples, if the caller has them (else recomputed).
    """
    from core.models.registry import features_and_probabilities, predict_batches  # Keras, imported on use

    network = features_and_probabilities(model)
    test_samples = find_samples(data_dir, TEST_SPLIT)
    fit_samples, val_samples = split or validation_split(
        find_samples(data_dir, TRAIN_SPLIT), config.validation_fraction, config.split_seed
    )
    splits = (  # name, samples, cache name (training's own for its two parts)
        ("test", test_samples, TEST_SPLIT),
        ("validation", val_samples, VALIDATION_SPLIT),
        ("fit", fit_samples, FIT_SPLIT),
    )
    predicted: dict[str, SplitPredictions] = {}
    for split, samples, cache_name in splits:
        print(f"[{config.name}] predicting {len(samples)} {split} images", flush=True)
        decoded = cached_images(samples, config.image_size, cache_name, use_cache)
        features, probabilities = predict_batches(network, decoded.images)
        predicted[split] = SplitPredictions(
            decoded.kept, decoded.labels, decoded.skipped, features, probabilities
        )

    test, validation, fit = predicted["test"], predicted["validation"], predicted["fit"]
    guard = ood.fit(fit.features, fit.labels, validation_features=validation.features)
    metrics = classification_metrics(test.labels, test.probabilities)
    metrics["test_fingerprint"] = fingerprint(test_samples)
    metrics["skipped"] = [{"path": p, "error": e} for p, e in test.skipped]
    return Evaluation(metrics, test.table(guard), validation.table(guard), guard)


def write_evaluation(out_dir: Path, evaluation: Evaluation, guard: bool = True) -> None:
    """metrics.json, the two predictions tables and, with `guard`, the guard (ood.npz)."""
    write_json(out_dir / "metrics.json", evaluation.metrics)
    for file, table in ((PREDICTIONS_FILE, evaluation.test), (VALIDATION_FILE, evaluation.validation)):
        with atomic_path(out_dir / file) as temporary:
            # 9 significant digits write a float32 exactly: metrics recomputed from the file match.
            table.to_csv(temporary, index=False, float_format="%.9g")
    if guard:
        evaluation.guard.save(out_dir / artifacts.GUARD_FILE)


def summary_line(name: str, metrics: dict) -> str:
    return (
        f"[{name}] test accuracy {metrics['accuracy']:.2%}, macro F1 {metrics['macro_f1']:.2%} "
        f"on {metrics['n_images']} images"
    )


def main(argv: list[str] | None = None) -> None:
    parser = cli.parser(__doc__.splitlines()[0], cache=True)
    args = parser.parse_args(argv)
    root = Path(args.artifacts)
    for name in cli.selected_models(args.model):
        model = artifacts.load_model(name, root)
        config, data_dir = artifacts.load_config(name, root), paths.data_dir(args.data)
        evaluation = evaluate(model, config, data_dir, use_cache=not args.no_cache)
        if (previous := artifacts.load_metrics(name, root)).model:  # the size training measured
            evaluation.metrics["model"] = dataclasses.asdict(previous.model)
        write_evaluation(artifacts.model_dir(name, root), evaluation)
        print(summary_line(name, evaluation.metrics), flush=True)


if __name__ == "__main__":
    cli.run(main)
