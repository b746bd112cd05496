"""Train a model on the dataset's Training split, evaluate it on Testing, write its artifacts.

CLI: python -m core train --model {<registered name>,all} [--data DIR] [--seeds N] [--epochs N]
     [--fine-tune-epochs N] [--learning-rate LR] [--fine-tune-learning-rate LR]
     [--schedule {plateau,cosine}] [--weights FILE] [--artifacts DIR] [--no-cache]
     [--strategy {mirrored,multiworker}]
     [--keep-runs] [--set FIELD=VALUE ...]

Validation is a seeded part of Training, stratified by class and grouped by near duplicate
(core.data.duplicates: no validation image has a copy in the fitted part); every choice (early
stopping, learning-rate drops) looks at it, never at Testing. --seeds N trains N runs per
model (seeds 42, 43, ...) on the same split; with --keep-runs, the complete runs already in the
model's folder that were trained with the same config (seed apart) are kept and only the missing
seeds trained, so --seeds 3 after --seeds 1 trains two runs. Artifacts are staged and swapped in only when
complete, so an interrupted run leaves the previous ones intact. Decoded images are cached on
disk (core.data.cache) unless --no-cache. Lesions are pasted into no-tumour training slices
(core.training.lesions, config.lesion_pastes) from the tumour-box file beside the dataset
(<data>-boxes.csv, or $BRAIN_MRI_BOXES); without it, training goes on without them and says so.

--strategy mirrored trains under tf.distribute.MirroredStrategy: one replica per local GPU
(the CPU alone on a machine without one), gradients all-reduced across them, the same
global batch size. --strategy multiworker trains on several machines through
tf.distribute.MultiWorkerMirroredStrategy: the same command on every worker, each started with a
TF_CONFIG environment variable that lists the workers and its own index; every worker decodes the
dataset from its own --data (they check that they agree), each batch is split between them, and
the chief (worker 0) writes the artifacts while the others write none.
"""

import dataclasses
import json
import os
import shutil
import sys
import time
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from core import artifacts, cli, commands, machine, paths
from core.data import provenance
from core.data.cache import FIT_SPLIT, VALIDATION_SPLIT, cached_images
from core.data.dataset import (
    CLASS_NAMES,
    TRAIN_SPLIT,
    find_samples,
    fingerprint,
)
from core.data.decode import Decoded
from core.data.duplicates import validation_split
from core.evaluation.evaluate import evaluate, model_facts, summary_line, write_evaluation
from core.files import write_json
from core.models import registry
from core.models.config import COSINE, FLOAT32, PLATEAU, ModelConfig
from core.models.registry import (
    NUM_CLASSES,
    batched,
    build_model,
    compiled,
    predict_batches,
    split_at,
    split_below_top,
    unfreeze_top,
)
from core.serving import litert
from core.training import lesions
from core.training.callbacks import FINE_TUNE, HEAD, ONE_PHASE, callbacks
from core.training.pipeline import augmented_copies, dataset
from core.training.strategy import (
    MULTIWORKER,
    STRATEGIES,
    distribution_strategy,
    dtype_policy,
    kept_run,
    refuse_kept_runs_across_workers,
    same_on_every_worker,
    wait_for_every_worker,
    writes_results,
)


@dataclass(frozen=True)
class Phase:
    """One phase of a run, as history.json records it."""

    name: str
    first_epoch: int
    last_epoch: int
    best_epoch: int | None  # lowest validation loss; None when the phase ran no epoch
    wall_time_s: float


def _compile(model: keras.Model, learning_rate: float) -> None:
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss=keras.losses.CategoricalCrossentropy(),
        metrics=["accuracy"],
    )


def _fit(
    model: keras.Model,
    train_data: tf.data.Dataset,
    val_data: tf.data.Dataset,
    epochs: int,
    config: ModelConfig,
    phase: str,
    records: list[dict],
) -> Phase:
    """Run one phase on tf.data datasets of (inputs, one-hot labels); return its summary."""
    first = len(records) + 1
    start = time.perf_counter()
    if epochs > 0:
        model.fit(
            train_data,
            validation_data=val_data,
            epochs=epochs,
            callbacks=callbacks(config, phase, records),
            verbose=2,
        )
    phase_records = records[first - 1 :]
    best = min(phase_records, key=lambda r: r["val_loss"])["epoch"] if phase_records else None
    return Phase(phase, first, len(records), best, round(time.perf_counter() - start, 1))


def _fit_images(
    model: keras.Model,
    fit: Decoded,
    val: Decoded,
    epochs: int,
    config: ModelConfig,
    phase: str,
    records: list[dict],
) -> Phase:
    """_fit on decoded images: augmented, shuffled training batches and plain validation batches."""
    train_data = dataset(fit.images, fit.labels, config, training=True)
    val_data = dataset(val.images, val.labels, config, training=False)
    return _fit(model, train_data, val_data, epochs, config, phase, records)


def _batches(inputs: np.ndarray, labels: np.ndarray, config: ModelConfig, shuffle: bool) -> tf.data.Dataset:
    """Batches of (cached inputs, one-hot labels); shuffled every epoch if `shuffle`."""
    ds = tf.data.Dataset.from_tensor_slices((inputs, keras.utils.to_categorical(labels, NUM_CLASSES)))
    if shuffle:
        ds = ds.shuffle(len(inputs), seed=config.seed, reshuffle_each_iteration=True)
    return ds.batch(config.batch_size).prefetch(tf.data.AUTOTUNE)


def frozen_layers(trunk: keras.Model) -> Callable[[np.ndarray], np.ndarray]:
    """The frozen layers' outputs for a stack of images: through a LiteRT copy where no GPU is
    visible (litert.BatchCall, about four times faster on a CPU), else through Keras."""
    if tf.config.list_physical_devices("GPU"):
        call = compiled(trunk)  # traced once, not once for each batch of augmented copies
        return lambda images: np.asarray(batched(call, images))
    return litert.BatchCall.of(trunk)


def _train_two_phase(
    model: keras.Model, fit: Decoded, val: Decoded, config: ModelConfig, records: list[dict], timings: dict
) -> list[Phase]:
    """Phase 1: a new head on the frozen base. Phase 2: fine-tune the base's top with augmentation.

    The layers below the fine-tuned top never change, so their outputs (activations) are
    computed once: for the plain images (phase 1's features, validation) and, with
    config.cached_copies, for that many augmented copies of the training images, on which
    phase 2 trains the top alone. Without cached copies, phase 2 runs the whole model on
    freshly augmented images every epoch.
    """
    start = time.perf_counter()
    trunk, top = split_below_top(model, config.fine_tune_layers)
    frozen = frozen_layers(trunk)
    a_fit, a_val = frozen(fit.images), frozen(val.images)
    timings["activations"] = round(time.perf_counter() - start, 1)

    # Phase 1: the head (the same layer objects as in `model`) on the frozen base's features.
    feature_layer = registry.get(config.architecture).feature_layer
    features = keras.Model(trunk.output, model.get_layer(feature_layer).output)  # activations -> features
    head = split_at(model, feature_layer)[1]
    _compile(head, config.learning_rate)
    head_phase = _fit(
        head,
        _batches(predict_batches(features, a_fit), fit.labels, config, shuffle=True),
        _batches(predict_batches(features, a_val), val.labels, config, shuffle=False),
        config.epochs,
        config,
        HEAD,
        records,
    )

    # Phase 2: fine-tune the top of the base at a very low learning rate, with augmentation.
    unfreeze_top(model, config.fine_tune_layers)
    if not config.cached_copies:
        _compile(model, config.fine_tune_learning_rate)
        return [head_phase, _fit_images(model, fit, val, config.fine_tune_epochs, config, FINE_TUNE, records)]
    start = time.perf_counter()
    copies = augmented_copies(fit.images, config, config.cached_copies)
    a_copies = np.concatenate([frozen(np.asarray(batch)) for batch in copies])  # (copies * N, ...)
    timings["augmented activations"] = round(time.perf_counter() - start, 1)
    print(f"[{config.name}] activations of {config.cached_copies} augmented copies cached", flush=True)
    # An epoch is one pass's worth of batches, drawn from all the copies.
    train_data = _batches(a_copies, np.tile(fit.labels, config.cached_copies), config, shuffle=True)
    _compile(top, config.fine_tune_learning_rate)
    tune_phase = _fit(
        top,
        train_data.repeat().take(-(-len(fit.images) // config.batch_size)),
        _batches(a_val, val.labels, config, shuffle=False),
        config.fine_tune_epochs,
        config,
        FINE_TUNE,
        records,
    )
    return [head_phase, tune_phase]


def _train_one_phase(
    model: keras.Model, fit: Decoded, val: Decoded, config: ModelConfig, records: list[dict], timings: dict
) -> list[Phase]:
    """The whole model from its initial weights, with augmentation."""
    _compile(model, config.learning_rate)
    return [_fit_images(model, fit, val, config.epochs, config, ONE_PHASE, records)]


def pasted_training_images(fit: Decoded, config: ModelConfig, data_dir: Path) -> tuple[Decoded, int]:
    """lesions.with_pastes with the dataset's tumour-box file; without one, no pastes (said)."""
    boxes = provenance.read_boxes(provenance.boxes_path(data_dir))
    if config.lesion_pastes and not boxes:
        print(
            f"[{config.name}] no tumour-box file: training without pasted lesions",
            file=sys.stderr,
            flush=True,
        )
    fit, count = lesions.with_pastes(fit, config, boxes)
    if count:
        print(f"[{config.name}] {count} no-tumour slices with a pasted lesion added", flush=True)
    return fit, count


def fit_model(
    config: ModelConfig,
    fit: Decoded,
    val: Decoded,
    weights: str | None,
    timings: dict | None = None,
    strategy: str | None = None,
) -> tuple[keras.Model, list[dict], list[Phase]]:
    """Build `config`'s model and train it on `fit`, choosing epochs on `val`.

    Returns:
        (the trained model, computing in float32 whatever the config's precision; one history
        record per epoch; the phases run). `timings` gets each costly step's seconds.

    Raises:
        ValueError: a precision other than float32 for a two-phase model (its frozen layers run
            through a float32 LiteRT copy, and bfloat16 made its fine-tuned top no faster).
    """
    records: list[dict] = []
    two_phase = registry.get(config.architecture).two_phase
    if two_phase and config.precision != FLOAT32:
        raise ValueError(f"{config.name}: precision {config.precision!r} is for one-phase models only")
    trainer = _train_two_phase if two_phase else _train_one_phase
    with distribution_strategy(strategy).scope():  # variables, optimizer and fit on its replicas
        with dtype_policy(config.precision):
            model = build_model(config, weights)
            phases = trainer(model, fit, val, config, records, {} if timings is None else timings)
        if config.precision != FLOAT32:  # the trained weights in a float32 model, every layer trainable
            trained, model = model, build_model(config)
            model.set_weights(trained.get_weights())
    return model, records, phases


def _trainable_params(model: keras.Model) -> int:
    return int(sum(np.prod(w.shape) for w in model.trainable_weights))


def starting_weights(config: ModelConfig, flag: str | None = None) -> str | None:
    """ImageNet weights (see paths.imagenet_weights) for a pretrained architecture, else None."""
    return paths.imagenet_weights(flag) if registry.get(config.architecture).pretrained else None


def train(
    config: ModelConfig,
    data_dir: Path,
    root: Path | None = None,
    weights: str | None = "imagenet",
    command: str = "",
    use_cache: bool = True,
    strategy: str | None = None,
    seeds: int = 1,
    keep_runs: bool = False,
) -> Path:
    """Train, evaluate and save one model, `seeds` times; return its artifact folder.

    Run k (from 0) uses seed config.seed + k for the initial weights, shuffling and
    augmentation; the validation split (config.split_seed) is the same for all. The first run
    is the one the app serves: its folder holds the LiteRT copies and the guard too. Every run's
    model and results (config, history, metrics, predictions, manifest) are kept, the others'
    under runs/seed-<seed>/.
    The folder is replaced only once every run is complete.

    Args:
        root: the artifacts folder (default: paths.artifacts_dir()).
        weights: a pretrained architecture's starting weights (see registry.build_model).
        command: the command line to record in the manifest.
        use_cache: read and write decoded images in the disk cache (core.data.cache).
        strategy: None, "mirrored" or "multiworker" (see distribution_strategy). A multi-worker
            cluster's other workers train alongside its chief and write no artifacts.
        keep_runs: copy each complete run already in the model's folder whose config is this
            run's (see kept_run) instead of training it again.

    Raises:
        DatasetError: the dataset folder is missing or malformed.
        ValueError: an unknown strategy, "multiworker" without a cluster in $TF_CONFIG, or with
            `keep_runs` (every worker must train the same runs).
    """
    current = artifacts.model_dir(config.name, root)
    refuse_kept_runs_across_workers(strategy, keep_runs)
    distributed = distribution_strategy(strategy)
    # The chief stages its files and swaps them in once every run is complete; the other workers
    # of a multi-worker cluster train alongside it and write no artifacts (no folder).
    staged = artifacts.staged_model_dir(config.name, root) if writes_results(distributed) else nullcontext()
    with staged as out:
        for k in range(seeds):
            run = dataclasses.replace(config, seed=config.seed + k)
            folder = out if k == 0 or out is None else artifacts.run_dir(out, run.seed)
            existing = current if k == 0 else artifacts.run_dir(current, run.seed)
            if keep_runs and kept_run(existing, run, serve=k == 0):
                print(f"[{run.name}] seed {run.seed}: kept the complete run of the same config", flush=True)
                shutil.copytree(
                    existing, folder, ignore=shutil.ignore_patterns(artifacts.RUNS_DIR), dirs_exist_ok=True
                )
            else:
                _train_run(run, data_dir, folder, weights, command, use_cache, strategy, serve=k == 0)
    if strategy == MULTIWORKER:
        wait_for_every_worker(distributed)  # the others wait while the chief evaluates and writes
    return current


def _train_run(
    config: ModelConfig,
    data_dir: Path,
    out: Path | None,
    weights: str | None,
    command: str,
    use_cache: bool,
    strategy: str | None,
    serve: bool,
) -> None:
    """One run of `train` into the folder `out`; with `serve`, the model files and guard too.
    With no `out` (a multi-worker cluster's other worker), it trains and writes no artifacts."""
    started = time.perf_counter()
    keras.utils.set_random_seed(config.seed)
    train_samples = find_samples(data_dir, TRAIN_SPLIT)
    fit_samples, val_samples = validation_split(train_samples, config.validation_fraction, config.split_seed)
    print(
        f"[{config.name}] seed {config.seed}: {len(fit_samples)} training / {len(val_samples)} validation "
        f"images; decoding at {config.image_size}x{config.image_size}",
        flush=True,
    )
    decode_start = time.perf_counter()
    size = config.image_size
    fit = cached_images(fit_samples, size, FIT_SPLIT, use_cache)
    val = cached_images(val_samples, size, VALIDATION_SPLIT, use_cache)
    timings = {"decode": round(time.perf_counter() - decode_start, 1)}  # other entries: disjoint
    skipped = fit.skipped + val.skipped
    for _, error in skipped:
        print(f"[{config.name}] skipped {error}", file=sys.stderr, flush=True)
    paste_start = time.perf_counter()
    fit, pastes = pasted_training_images(fit, config, data_dir)
    if pastes:
        timings["lesion pastes"] = round(time.perf_counter() - paste_start, 1)

    if strategy == MULTIWORKER:  # the workers must agree on every batch, so on what makes them
        facts = [fingerprint(train_samples), len(fit.kept), len(val.kept), pastes, dataclasses.asdict(config)]
        same_on_every_worker(
            distribution_strategy(strategy), "their training images or config", json.dumps(facts)
        )
    model, records, phases = fit_model(config, fit, val, weights, timings, strategy)
    if out is None:
        print(
            f"[{config.name}] seed {config.seed}: trained alongside the chief, which writes the run",
            flush=True,
        )
        return
    trainable = _trainable_params(model)

    out.mkdir(parents=True, exist_ok=True)
    # Save a fresh copy without optimizer state: a smaller file, the same predictions.
    clean = build_model(config, weights=None)
    clean.set_weights(model.get_weights())
    clean.save(out / artifacts.MODEL_FILE)
    if serve:
        export_start = time.perf_counter()
        litert.export(clean, out, litert.calibration_images(fit.images))  # the app's fast path
        timings["export"] = round(time.perf_counter() - export_start, 1)
    config.save(out / "config.json")
    write_json(out / "history.json", {"epochs": records, "phases": [dataclasses.asdict(p) for p in phases]})

    eval_start = time.perf_counter()
    evaluation = evaluate(clean, config, data_dir, use_cache, split=(fit_samples, val_samples))
    metrics = evaluation.metrics
    metrics["model"] = model_facts(clean, out / artifacts.MODEL_FILE, trainable)
    write_evaluation(out, evaluation, guard=serve)  # every run keeps its model: studies score each seed
    write_json(
        out / "manifest.json",
        {
            "model": config.name,
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "command": command,
            "seed": config.seed,
            "dataset": {
                "train_fingerprint": fingerprint(train_samples),
                "test_fingerprint": metrics["test_fingerprint"],
                "train_images": len(fit.kept),
                "lesion_pastes": pastes,  # extra training images: no-tumour slices with a lesion
                "validation_images": len(val.kept),
                "test_images": metrics["n_images"],
                "skipped": [path for path, _ in skipped],
                "classes": list(CLASS_NAMES),
            },
            "strategy": strategy,
            "replicas": model.distribute_strategy.num_replicas_in_sync,  # every worker's devices
            "wall_time_s": {
                **timings,
                **{phase.name: phase.wall_time_s for phase in phases},
                "evaluation": round(time.perf_counter() - eval_start, 1),
                "total": round(time.perf_counter() - started, 1),
            },
            "versions": machine.versions(),
            "cpu": f"{machine.cpu()} ({os.cpu_count()} cores)",
        },
    )
    print(summary_line(config.name, metrics), flush=True)


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    parser = cli.parser(__doc__.splitlines()[0], cache=True, settings=True)
    parser.add_argument("--epochs", type=int, help="max epochs of phase 1 (head / whole CNN)")
    parser.add_argument("--fine-tune-epochs", type=int, help="max epochs of MobileNetV2's phase 2")
    parser.add_argument("--learning-rate", type=float, help="phase 1 learning rate")
    parser.add_argument("--fine-tune-learning-rate", type=float, help="phase 2 learning rate")
    parser.add_argument("--schedule", choices=(PLATEAU, COSINE), help="phase 1 learning-rate schedule")
    parser.add_argument("--weights", help=f"local MobileNetV2 ImageNet .h5 (or ${paths.WEIGHTS_ENV_VAR})")
    parser.add_argument("--seeds", type=int, default=1, help="runs per model, seeds 42, 43, ... (default 1)")
    parser.add_argument(
        "--keep-runs",
        action="store_true",
        help="keep the complete runs of the same config already trained; train only the missing seeds",
    )
    parser.add_argument(
        "--strategy", choices=STRATEGIES, help="tf.distribute strategy (default: none, one device)"
    )
    args = parser.parse_args(argv)
    try:
        refuse_kept_runs_across_workers(args.strategy, args.keep_runs)
        distribution_strategy(args.strategy)  # before any other TensorFlow work, as a cluster needs
    except ValueError as error:
        parser.error(str(error))

    overrides = {
        "epochs": args.epochs,
        "fine_tune_epochs": args.fine_tune_epochs,
        "learning_rate": args.learning_rate,
        "fine_tune_learning_rate": args.fine_tune_learning_rate,
        "learning_rate_schedule": args.schedule,
    }
    overrides = {key: value for key, value in overrides.items() if value is not None}
    for name in cli.selected_models(args.model):
        config = dataclasses.replace(registry.get(name).config, **overrides)
        config = cli.configured(config, args, parser).capped()
        print(f"[{name}] config {json.dumps(dataclasses.asdict(config))}", flush=True)
        weights = starting_weights(config, args.weights)
        command = commands.command("train", *argv)
        data_dir, root = paths.data_dir(args.data), Path(args.artifacts)
        train(
            config,
            data_dir,
            root,
            weights,
            command,
            not args.no_cache,
            args.strategy,
            args.seeds,
            args.keep_runs,
        )


if __name__ == "__main__":
    cli.run(main)
