"""Train a model on the dataset's Training split, evaluate it on Testing, write its artifacts.

CLI: python -m core.train --model {mobilenetv2,custom_cnn,all} [--data DIR] [--epochs N]
     [--fine-tune-epochs N] [--learning-rate LR] [--fine-tune-learning-rate LR]
     [--weights FILE] [--artifacts DIR] [--no-cache] [--strategy mirrored]

Validation is a seeded, stratified part of Training; every choice (early stopping, learning
rate drops) looks at it, never at Testing. Artifacts are staged and swapped in only when
complete, so an interrupted run leaves the previous ones intact. Decoded images are cached
on disk (core.cache) unless --no-cache.

--strategy mirrored trains under tf.distribute.MirroredStrategy: one replica per local GPU
(the CPU alone on a machine without one), gradients all-reduced across them, the same
global batch size. Several machines would use tf.distribute.MultiWorkerMirroredStrategy instead,
each started with a TF_CONFIG environment variable that lists the workers and its own index.
"""

import contextlib
import dataclasses
import json
import os
import platform
import sys
import time
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

import keras
import numpy as np

from core import artifacts, cli, litert, paths
from core.cache import FIT_SPLIT, VALIDATION_SPLIT, cached_images
from core.config import CONFIGS, ModelConfig
from core.data import (
    CLASS_NAMES,
    TRAIN_SPLIT,
    find_samples,
    fingerprint,
    split_validation,
)
from core.evaluate import evaluate, model_facts, summary_line, write_evaluation
from core.models import NUM_CLASSES, build_model, predict_batches, unfreeze_top
from core.pipeline import dataset

FINE_TUNE = "fine-tune"
STRATEGIES = ("mirrored",)


class EpochLog(keras.callbacks.Callback):
    """Appends one record per epoch: phase, learning rate used, Keras' logs and wall time."""

    def __init__(self, phase: str, records: list[dict]):
        super().__init__()
        self.phase, self.records = phase, records

    def on_epoch_begin(self, epoch, logs=None):
        self.learning_rate = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        record = {"epoch": len(self.records) + 1, "phase": self.phase, "learning_rate": self.learning_rate}
        record.update({key: float(value) for key, value in (logs or {}).items() if key != "learning_rate"})
        record["wall_time_s"] = round(time.perf_counter() - self.start, 2)  # training and validation
        self.records.append(record)


def _callbacks(config: ModelConfig, phase: str, records: list[dict]) -> list:
    if phase == FINE_TUNE:  # fine-tuning epochs are costly: stop sooner, cut the rate sooner
        patience, lr_patience = config.fine_tune_patience, max(1, config.fine_tune_patience // 2)
    else:
        patience, lr_patience = config.early_stopping_patience, config.reduce_lr_patience
    return [
        keras.callbacks.EarlyStopping(monitor="val_loss", patience=patience, restore_best_weights=True),
        keras.callbacks.ReduceLROnPlateau(
            monitor="val_loss",
            factor=config.reduce_lr_factor,
            patience=lr_patience,
            min_lr=config.min_learning_rate,
        ),
        EpochLog(phase, records),
    ]


def _compile(model: keras.Model, learning_rate: float) -> None:
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss=keras.losses.CategoricalCrossentropy(),
        metrics=["accuracy"],
    )


def _fit(model, train_data, val_data, epochs, config, phase, records) -> dict:
    """Run one phase; return its summary (epochs, best epoch by val_loss, wall time)."""
    first = len(records) + 1
    start = time.perf_counter()
    if epochs > 0:
        model.fit(
            train_data,
            validation_data=val_data,
            epochs=epochs,
            callbacks=_callbacks(config, phase, records),
            verbose=2,
        )
    phase_records = records[first - 1 :]
    best = min(phase_records, key=lambda r: r["val_loss"])["epoch"] if phase_records else None
    return {
        "name": phase,
        "first_epoch": first,
        "last_epoch": len(records),
        "best_epoch": best,
        "wall_time_s": round(time.perf_counter() - start, 1),
    }


def _train_mobilenetv2(model, data, config, records, timings) -> list[dict]:
    (x_train, y_train), (x_val, y_val) = data
    # Phase 1: frozen base, new head. The base is frozen and deterministic, so its pooled
    # features are computed once and the head (dropout + softmax, the same layer objects as in
    # `model`) is trained on them: the same optimisation as through the full network, minus
    # the augmentation, at a fraction of the cost.
    start = time.perf_counter()
    features = keras.Model(model.input, model.get_layer("avg_pool").output)
    f_train, f_val = predict_batches(features, x_train), predict_batches(features, x_val)  # (N, 1280)
    timings["features"] = round(time.perf_counter() - start, 1)
    print(f"[{config.name}] base features computed in {timings['features']:.0f} s", flush=True)
    pooled = keras.Input(f_train.shape[1:], name="pooled_features")
    head = keras.Model(
        pooled, model.get_layer("predictions")(model.get_layer("head_dropout")(pooled)), name="head"
    )
    _compile(head, config.learning_rate)
    one_hot = keras.utils.to_categorical
    head_phase = _fit_arrays(
        head, (f_train, one_hot(y_train, NUM_CLASSES)), (f_val, one_hot(y_val, NUM_CLASSES)), config, records
    )

    # Phase 2: fine-tune the top of the base at a very low learning rate, with augmentation.
    unfreeze_top(model, config.fine_tune_layers)
    _compile(model, config.fine_tune_learning_rate)
    tune_phase = _fit(
        model,
        dataset(x_train, y_train, config, training=True),
        dataset(x_val, y_val, config, training=False),
        config.fine_tune_epochs,
        config,
        FINE_TUNE,
        records,
    )
    return [head_phase, tune_phase]


def _fit_arrays(model, train, val, config, records) -> dict:
    """_fit for in-memory arrays (the head on cached features)."""
    import tensorflow as tf

    def batches(arrays, shuffle):
        ds = tf.data.Dataset.from_tensor_slices(arrays)
        if shuffle:
            ds = ds.shuffle(len(arrays[0]), seed=config.seed)
        return ds.batch(config.batch_size)

    return _fit(model, batches(train, True), batches(val, False), config.epochs, config, "head", records)


def _train_custom_cnn(model, data, config, records, timings) -> list[dict]:
    (x_train, y_train), (x_val, y_val) = data
    _compile(model, config.learning_rate)
    return [
        _fit(
            model,
            dataset(x_train, y_train, config, training=True),
            dataset(x_val, y_val, config, training=False),
            config.epochs,
            config,
            "train",
            records,
        )
    ]


def _versions() -> dict:
    packages = ("tensorflow", "tensorflow-cpu", "keras", "numpy", "scikit-learn", "pillow")
    found = {"python": platform.python_version()}
    for package in packages:
        with contextlib.suppress(metadata.PackageNotFoundError):
            found[package] = metadata.version(package)
    return found


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return f"{line.split(':', 1)[1].strip()} ({os.cpu_count()} cores)"
    except OSError:
        pass
    return f"{platform.processor() or platform.machine()} ({os.cpu_count()} cores)"


def _trainable_params(model: keras.Model) -> int:
    return int(sum(np.prod(w.shape) for w in model.trainable_weights))


def distribution_strategy(name: str | None):
    """The tf.distribute strategy to build, compile and fit under.

    Args:
        name: None for TensorFlow's default (one device, no distribution), or "mirrored" for
            MirroredStrategy over all local GPUs, or the CPU where there is none. For several
            machines, MultiWorkerMirroredStrategy with TF_CONFIG set on each is the analogue.

    Raises:
        ValueError: an unknown strategy name.
    """
    import tensorflow as tf

    if name is None:
        return tf.distribute.get_strategy()  # the default strategy: its scope changes nothing
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    raise ValueError(f"unknown strategy {name!r}; expected one of {', '.join(STRATEGIES)}")


def train(
    config: ModelConfig,
    data_dir: Path,
    root: Path = paths.ARTIFACTS_DIR,
    weights: str | None = "imagenet",
    command: str = "",
    use_cache: bool = True,
    strategy: str | None = None,
) -> Path:
    """Train, evaluate and save one model; return its artifact folder.

    Args:
        weights: MobileNetV2's starting weights (see models.build_mobilenetv2).
        command: the command line to record in the manifest.
        use_cache: read and write decoded images in the disk cache (core.cache).
        strategy: None, or "mirrored" (see distribution_strategy).

    Raises:
        DatasetError: the dataset folder is missing or malformed.
        ValueError: an unknown strategy.
    """
    started = time.perf_counter()
    keras.utils.set_random_seed(config.seed)
    train_samples = find_samples(data_dir, TRAIN_SPLIT)
    fit_samples, val_samples = split_validation(train_samples, config.validation_fraction, config.seed)
    print(
        f"[{config.name}] {len(fit_samples)} training / {len(val_samples)} validation images; "
        f"decoding at {config.image_size}x{config.image_size}",
        flush=True,
    )
    decode_start = time.perf_counter()
    size = config.image_size
    x_train, y_train, _, skipped_train = cached_images(fit_samples, size, FIT_SPLIT, use_cache)
    x_val, y_val, _, skipped_val = cached_images(val_samples, size, VALIDATION_SPLIT, use_cache)
    timings = {"decode": round(time.perf_counter() - decode_start, 1)}  # other entries: disjoint
    for _, error in skipped_train + skipped_val:
        print(f"[{config.name}] skipped {error}", file=sys.stderr, flush=True)

    records: list[dict] = []
    trainer = _train_mobilenetv2 if config.architecture == "mobilenetv2" else _train_custom_cnn
    with distribution_strategy(strategy).scope():  # variables, optimizer and fit on its replicas
        model = build_model(config, weights)
        phases = trainer(model, ((x_train, y_train), (x_val, y_val)), config, records, timings)
    trainable = _trainable_params(model)

    with artifacts.staged_model_dir(config.name, root) as out:
        # Save a fresh copy without optimizer state: a smaller file, the same predictions.
        clean = build_model(config, weights=None)
        clean.set_weights(model.get_weights())
        clean.save(out / artifacts.MODEL_FILE)
        litert.export(clean, out)  # the app's fast path; without it the app predicts with Keras
        config.save(out / "config.json")
        artifacts.write_json(out / "history.json", {"epochs": records, "phases": phases})

        eval_start = time.perf_counter()
        evaluation = evaluate(clean, config, data_dir, use_cache)
        metrics = evaluation.metrics
        metrics["model"] = model_facts(clean, out / artifacts.MODEL_FILE, trainable)
        write_evaluation(out, evaluation)
        artifacts.write_json(
            out / "manifest.json",
            {
                "model": config.name,
                "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                "command": command,
                "seed": config.seed,
                "dataset": {
                    "train_fingerprint": fingerprint(train_samples),
                    "test_fingerprint": metrics["test_fingerprint"],
                    "train_images": len(fit_samples) - len(skipped_train),
                    "validation_images": len(val_samples) - len(skipped_val),
                    "test_images": metrics["n_images"],
                    "skipped": [p for p, _ in skipped_train + skipped_val],
                    "classes": list(CLASS_NAMES),
                },
                "strategy": strategy,
                "wall_time_s": {
                    **timings,
                    **{phase["name"]: phase["wall_time_s"] for phase in phases},
                    "evaluation": round(time.perf_counter() - eval_start, 1),
                    "total": round(time.perf_counter() - started, 1),
                },
                "versions": _versions(),
                "cpu": _cpu(),
            },
        )
    print(summary_line(config.name, metrics), flush=True)
    return artifacts.model_dir(config.name, root)


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    parser = cli.parser(__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, help="max epochs of phase 1 (head / whole CNN)")
    parser.add_argument("--fine-tune-epochs", type=int, help="max epochs of MobileNetV2's phase 2")
    parser.add_argument("--learning-rate", type=float, help="phase 1 learning rate")
    parser.add_argument("--fine-tune-learning-rate", type=float, help="phase 2 learning rate")
    parser.add_argument("--weights", help=f"local MobileNetV2 ImageNet .h5 (or ${paths.WEIGHTS_ENV_VAR})")
    parser.add_argument("--no-cache", action="store_true", help="decode every image afresh (no disk cache)")
    parser.add_argument(
        "--strategy", choices=STRATEGIES, help="tf.distribute strategy (default: none, one device)"
    )
    args = parser.parse_args(argv)

    overrides = {
        "epochs": args.epochs,
        "fine_tune_epochs": args.fine_tune_epochs,
        "learning_rate": args.learning_rate,
        "fine_tune_learning_rate": args.fine_tune_learning_rate,
    }
    overrides = {key: value for key, value in overrides.items() if value is not None}
    for name in cli.selected_models(args.model):
        config = dataclasses.replace(CONFIGS[name], **overrides).capped()
        print(f"[{name}] config {json.dumps(dataclasses.asdict(config))}", flush=True)
        weights = paths.imagenet_weights(args.weights) if config.architecture == "mobilenetv2" else None
        command = " ".join(["python -m core.train", *argv])
        data_dir, root = paths.data_dir(args.data), Path(args.artifacts)
        train(config, data_dir, root, weights, command, not args.no_cache, args.strategy)


if __name__ == "__main__":
    cli.run(main)
