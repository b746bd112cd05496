"""Test-set evaluation: scikit-learn metrics, per-image predictions and model facts.

CLI: python -m core.evaluate --model {mobilenetv2,custom_cnn,all} [--data DIR]
re-evaluates the saved models and rewrites their metrics.json and predictions.csv.
"""

import statistics
import time
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

from core import artifacts, cli, paths
from core.config import ModelConfig
from core.data import (
    CLASS_NAMES,
    PROBABILITY_COLUMNS,
    TEST_SPLIT,
    Sample,
    find_samples,
    fingerprint,
    load_images,
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


def inference_ms_per_image(model, images: np.ndarray, repeats: int = 30) -> dict:
    """Median latency of one image through a compiled call, and batched throughput."""
    import tensorflow as tf

    predict_one = tf.function(lambda x: model(x, training=False))
    batch_one = tf.constant(images[:1], tf.float32)
    predict_one(batch_one)  # trace and warm up
    latencies = []
    for i in range(repeats):
        start = time.perf_counter()
        predict_one(tf.constant(images[i % len(images)][None], tf.float32)).numpy()
        latencies.append((time.perf_counter() - start) * 1000)
    start = time.perf_counter()
    model.predict(images, batch_size=64, verbose=0)
    batched = (time.perf_counter() - start) * 1000 / len(images)
    return {"batch_1_ms": statistics.median(latencies), "batched_ms": batched}


def model_facts(model, model_file: Path, trainable_params: int) -> dict:
    return {
        "total_params": int(model.count_params()),
        "trainable_params": int(trainable_params),
        "file_size_mb": model_file.stat().st_size / 1e6,
    }


def evaluate(model, config: ModelConfig, data_dir: Path) -> tuple[dict, pd.DataFrame]:
    """Predict every Testing image; return (metrics, predictions table).

    Unreadable test images are skipped and listed in metrics["skipped"].
    """
    samples = find_samples(data_dir, TEST_SPLIT)
    print(f"[{config.name}] evaluating on {len(samples)} test images", flush=True)
    images, labels, kept, skipped = load_images(samples, config.image_size)
    probabilities = model.predict(images.astype(np.float32), batch_size=64, verbose=0)
    metrics = classification_metrics(labels, probabilities)
    metrics["test_fingerprint"] = fingerprint(samples)
    metrics["skipped"] = [{"path": p, "error": e} for p, e in skipped]
    metrics["timing"] = inference_ms_per_image(model, images)
    return metrics, predictions_table(kept, probabilities)


def write_evaluation(out_dir: Path, metrics: dict, table: pd.DataFrame) -> None:
    artifacts.write_json(out_dir / "metrics.json", metrics)
    temporary = out_dir / "predictions.csv.tmp"
    # 9 significant digits write a float32 exactly: metrics recomputed from the file match.
    table.to_csv(temporary, index=False, float_format="%.9g")
    temporary.replace(out_dir / "predictions.csv")


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
        metrics, table = evaluate(model, artifacts.load_config(name, root), paths.data_dir(args.data))
        previous = artifacts.load_metrics(name, root)
        metrics.update({key: previous[key] for key in ("model",) if key in previous})
        write_evaluation(artifacts.model_dir(name, root), metrics, table)
        print(summary_line(name, metrics), flush=True)


if __name__ == "__main__":
    cli.run(main)
