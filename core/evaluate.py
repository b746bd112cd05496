"""Evaluation: scikit-learn metrics, per-image predictions and model facts.

CLI: python -m core.evaluate --model {mobilenetv2,custom_cnn,all} [--data DIR]
re-evaluates the saved models and rewrites their metrics.json, predictions.csv (Testing),
validation_predictions.csv (the validation split) and ood.npz (the out-of-distribution guard).
"""

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import (
    accuracy_score,
    confusion_matrix,
    f1_score,
    precision_recall_fscore_support,
    roc_auc_score,
)

from core import artifacts, cli, ood, paths
from core.artifacts import PREDICTIONS_FILE, VALIDATION_FILE
from core.config import ModelConfig
from core.data import (
    CLASS_NAMES,
    PROBABILITY_COLUMNS,
    TEST_SPLIT,
    TRAIN_SPLIT,
    Sample,
    find_samples,
    fingerprint,
    load_images,
    split_validation,
)

LABELS = list(range(len(CLASS_NAMES)))


def classification_metrics(y_true: np.ndarray, probabilities: np.ndarray) -> dict:
    """Accuracy, macro/weighted F1, per-class P/R/F1/support, confusion matrix, one-vs-rest AUC.

    Args:
        y_true: (N,) class indices.
        probabilities: (N, 4) softmax outputs.
    """
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


def metrics_from_predictions(table: pd.DataFrame) -> dict:
    """classification_metrics recomputed from a predictions table."""
    y_true = table["true_label"].map(CLASS_NAMES.index).to_numpy()
    return classification_metrics(y_true, table[PROBABILITY_COLUMNS].to_numpy())


def model_facts(model, model_file: Path, trainable_params: int) -> dict:
    return {
        "total_params": int(model.count_params()),
        "trainable_params": int(trainable_params),
        "file_size_mb": model_file.stat().st_size / 1e6,
    }


@dataclass
class Evaluation:
    metrics: dict  # test-set metrics, fingerprint, skipped files
    test: pd.DataFrame  # per test image: labels, probabilities, OOD score
    validation: pd.DataFrame  # the same for the validation split (calibration, OOD threshold)
    guard: ood.Guard


def _predict(network, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(features, probabilities) of uint8 images through a two-output model."""
    features, probabilities = network.predict(images.astype(np.float32), batch_size=64, verbose=0)
    return features, probabilities


def evaluate(model, config: ModelConfig, data_dir: Path) -> Evaluation:
    """Predict the Testing and validation images and fit the out-of-distribution guard.

    The validation split is the seeded one training held out (same config, same split). The
    guard is fitted on the features of the rest of Training, its threshold on validation.
    Unreadable images are skipped and listed in metrics["skipped"].
    """
    network = ood.feature_and_probability_model(model, config.architecture)
    test_samples = find_samples(data_dir, TEST_SPLIT)
    fit_samples, val_samples = split_validation(
        find_samples(data_dir, TRAIN_SPLIT), config.validation_fraction, config.seed
    )
    parts = {}
    for split, samples in (("test", test_samples), ("validation", val_samples), ("fit", fit_samples)):
        print(f"[{config.name}] predicting {len(samples)} {split} images", flush=True)
        images, labels, kept, skipped = load_images(samples, config.image_size)
        parts[split] = (images, labels, kept, skipped, *_predict(network, images))

    _, fit_labels, _, _, fit_features, _ = parts["fit"]
    guard = ood.fit(fit_features, fit_labels, validation_features=parts["validation"][4])

    def table(split: str) -> pd.DataFrame:
        _, _, kept, _, features, probabilities = parts[split]
        result = predictions_table(kept, probabilities)
        result[ood.SCORE_COLUMN] = guard.scores(features)
        return result

    _, test_labels, _, test_skipped, _, test_probabilities = parts["test"]
    metrics = classification_metrics(test_labels, test_probabilities)
    metrics["test_fingerprint"] = fingerprint(test_samples)
    metrics["skipped"] = [{"path": p, "error": e} for p, e in test_skipped]
    return Evaluation(metrics, table("test"), table("validation"), guard)


def write_evaluation(out_dir: Path, evaluation: Evaluation) -> None:
    artifacts.write_json(out_dir / "metrics.json", evaluation.metrics)
    for file, table in ((PREDICTIONS_FILE, evaluation.test), (VALIDATION_FILE, evaluation.validation)):
        temporary = out_dir / f"{file}.tmp"
        # 9 significant digits write a float32 exactly: metrics recomputed from the file match.
        table.to_csv(temporary, index=False, float_format="%.9g")
        temporary.replace(out_dir / file)
    evaluation.guard.save(out_dir / artifacts.GUARD_FILE)


def summary_line(name: str, metrics: dict) -> str:
    return (
        f"[{name}] test accuracy {metrics['accuracy']:.2%}, macro F1 {metrics['macro_f1']:.2%} "
        f"on {metrics['n_images']} images"
    )


def main(argv: list[str] | None = None) -> None:
    args = cli.parser(__doc__.splitlines()[0]).parse_args(argv)
    root = Path(args.artifacts)
    for name in cli.selected_models(args.model):
        model = artifacts.load_model(name, root)
        evaluation = evaluate(model, artifacts.load_config(name, root), paths.data_dir(args.data))
        previous = artifacts.load_metrics(name, root)
        evaluation.metrics.update({key: previous[key] for key in ("model",) if key in previous})
        write_evaluation(artifacts.model_dir(name, root), evaluation)
        print(summary_line(name, evaluation.metrics), flush=True)


if __name__ == "__main__":
    cli.run(main)
