"""Leave one source out: train without a collection's images, test on them.

CLI: python -m core crosssource [--data DIR] [--boxes FILE] [--artifacts DIR] [--model NAME|all]
     [--recipe NAME] [--note TEXT] [--set FIELD=VALUE ...] [--warnings-only]

For each collection whose tumours can be told apart (core.data.provenance: figshare, SARTAJ), every
model (the control included) is trained on Training without that collection's images and tested
on all of its images, Training's and Testing's (the model saw none of them); --model NAME adds or
reruns that model alone, keeping the others' results. The no-tumour slices stay in
training: the two no-tumour collections cannot be told apart, and a collection whose tumours a
model never saw, while its no-tumour slices are familiar, is what a new hospital looks like.
Reported per fold and model: tumour recall (a held-out tumour called anything but "no tumor"),
4-class accuracy, the confusion, both with 95% bootstrap intervals; accuracy on the Testing
images of the other collections; and which warning rule (`warnings`: the fold model's
out-of-distribution guard, the other model's answer, the nearest training images) catches the
held-out tumours it calls "no tumor", at what cost in false alarms on the other Testing images.

Every fold trains with the registry's recipe on a short schedule, the same for every model:
at most SHORT_EPOCHS epochs a phase, MobileNetV2's fine-tuning on SHORT_COPIES cached copies.
Writes artifacts/crosssource/<recipe>/summary.json and <fold>-<model>.csv (per image
predictions); <recipe> is "current" unless --recipe names it (an earlier recipe's results,
kept for comparison, live beside it); --set changes the recipe for such a trial (e.g.
--recipe intensity --set intensity_augmentation=true).
"""

import dataclasses
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from core import artifacts, cli, paths
from core.data import provenance
from core.data.cache import cached_images
from core.data.dataset import (
    CLASS_NAMES,
    NOTUMOR,
    TEST_SPLIT,
    TRAIN_SPLIT,
    Sample,
    class_indices,
    find_samples,
)
from core.data.decode import Decoded
from core.data.duplicates import validation_split
from core.evaluation import stats
from core.evaluation.evaluate import predictions_table
from core.files import atomic_path, write_json
from core.models.config import ModelConfig
from core.models.registry import get as get_architecture
from core.serving import ood
from core.training import lesions

SHORT_EPOCHS = 12
SHORT_COPIES = 2
FOLDS = (provenance.FIGSHARE, provenance.SARTAJ)  # the collections a fold holds out
RESULTS_DIR, SUMMARY_FILE = artifacts.CROSSSOURCE_DIR, artifacts.CROSSSOURCE_SUMMARY
CURRENT = artifacts.CURRENT_RECIPE
HELD_OUT, IN_SOURCE = "held_out", "in_source"  # the `part` column of the predictions files
SCORE_FORMAT = "%.6g"  # numbers in the predictions files
SIGNALS = ("guard", "guard or disagreement", "nearest training images", "any")  # warning rules


def short(config: ModelConfig) -> ModelConfig:
    """`config` on the short schedule every fold uses."""
    return dataclasses.replace(
        config,
        epochs=min(config.epochs, SHORT_EPOCHS),
        fine_tune_epochs=min(config.fine_tune_epochs, SHORT_EPOCHS),
        cached_copies=min(config.cached_copies, SHORT_COPIES),
    ).capped()


def _interval(y_true: np.ndarray, y_pred: np.ndarray, metric: str | Callable) -> dict:
    return dataclasses.asdict(stats.bootstrap_interval(y_true, y_pred, metric))


def fold_samples(
    fold: str, train: list[Sample], test: list[Sample], boxes: dict
) -> tuple[list[Sample], list[Sample], list[Sample]]:
    """(Training without the fold's collection, all of its images, the other Testing images)."""
    kept = [s for s in train if provenance.source_of(s, boxes) != fold]
    held = [s for s in train + test if provenance.source_of(s, boxes) == fold]
    other_test = [s for s in test if provenance.source_of(s, boxes) != fold]
    return kept, held, other_test


def fold_summary(table: pd.DataFrame, threshold: float) -> dict:
    """One fold model's figures from its predictions table (parts HELD_OUT and IN_SOURCE)."""
    y_true, y_pred = class_indices(table["true_label"]), class_indices(table["predicted_label"])
    held, other = (table["part"] == HELD_OUT).to_numpy(), (table["part"] == IN_SOURCE).to_numpy()
    y_held, p_held, y_other, p_other = y_true[held], y_pred[held], y_true[other], y_pred[other]
    confusion = np.zeros((len(CLASS_NAMES), len(CLASS_NAMES)), int)
    np.add.at(confusion, (y_held, p_held), 1)
    return {
        "held_out_images": int(held.sum()),
        "tumour_recall": _interval(y_held, p_held, stats.tumour_recall),
        "accuracy": _interval(y_held, p_held, "accuracy"),
        "confusion": confusion.tolist(),
        "in_source_images": int(other.sum()),
        "in_source_accuracy": _interval(y_other, p_other, "accuracy"),
        "guard": {"threshold": threshold},
    }


def warnings(table: pd.DataFrame, threshold: float, other: pd.DataFrame, doubted: np.ndarray) -> dict:
    """What each warning rule catches of the held-out tumours a fold model calls "no tumor", and
    its false alarms: in-source images it warns on although the model's answer was right.

    Rules: the model's out-of-distribution guard (score over `threshold`); the guard, or the
    other model answering the other way on tumour or not (`other`, rows in the same order); the
    nearest training images (`doubted`, core.serving.neighbours); any of the three.
    """
    says_tumour = (table["predicted_label"] != CLASS_NAMES[NOTUMOR]).to_numpy()
    # At the predictions files' precision: a test copy of the validation image whose score set the
    # threshold scores it exactly, and must not come out over it.
    guard = (table[ood.SCORE_COLUMN] > float(SCORE_FORMAT % threshold)).to_numpy()
    disputed = says_tumour != (other["predicted_label"] != CLASS_NAMES[NOTUMOR]).to_numpy()
    rules = dict(zip(SIGNALS, (guard, guard | disputed, doubted, guard | disputed | doubted)))
    held = (table["part"] == HELD_OUT).to_numpy()
    missed = held & (table["true_label"] != CLASS_NAMES[NOTUMOR]).to_numpy() & ~says_tumour
    right = ~held & (table["true_label"] == table["predicted_label"]).to_numpy()
    return {
        "missed_tumours": int(missed.sum()),
        "in_source_right": int(right.sum()),
        **{
            rule: {"caught": int((flags & missed).sum()), "false_alarms": int((flags & right).sum())}
            for rule, flags in rules.items()
        },
    }


def add_warnings(
    summary: dict, out: Path, data_dir: Path, boxes: dict, weights: str | None, use_cache: bool
) -> None:
    """Set every fold model's "warnings" from its predictions file in `out` (see `warnings`).

    The nearest-training-image rule looks, per fold, only at the fold's own training images.
    """
    from core.models.registry import MOBILENETV2, predict_batches
    from core.serving import neighbours

    train, test = find_samples(data_dir, TRAIN_SPLIT), find_samples(data_dir, TEST_SPLIT)
    network = neighbours.feature_model(weights)
    features: dict[str, np.ndarray] = {}
    for split, samples in ((TRAIN_SPLIT, train), (TEST_SPLIT, test)):
        decoded = cached_images(samples, MOBILENETV2.image_size, split, use_cache)
        features.update(
            zip((s.relpath for s in decoded.kept), np.asarray(predict_batches(network, decoded.images)))
        )
    for fold, entry in summary["folds"].items():
        kept = [s for s in fold_samples(fold, train, test, boxes)[0] if s.relpath in features]
        reference = neighbours.fit(
            np.stack([features[s.relpath] for s in kept]), np.array([s.label for s in kept])
        )
        tables = {name: pd.read_csv(out / f"{fold}-{name}.csv") for name in entry["models"]}
        for name, figures in entry["models"].items():
            table = tables[name]
            other = next((t for n, t in tables.items() if n != name), table)
            predicted = class_indices(table["predicted_label"])
            doubted = reference.doubts(predicted, np.stack([features[path] for path in table["path"]]))
            figures["warnings"] = warnings(table, figures["guard"]["threshold"], other, doubted)


def run_fold(
    config: ModelConfig,
    fold: str,
    samples: tuple[list, list, list],
    boxes: dict,
    weights: str | None,
    use_cache: bool,
) -> tuple[pd.DataFrame, float, dict]:
    """Train `config` without the fold's collection; (predictions table, guard threshold, facts).
    Seeded as a training run is (config.seed): the same config gives the same fold."""
    import keras

    from core.models.registry import features_and_probabilities, predict_batches
    from core.training.train import fit_model

    kept, held, other_test = samples
    started = time.perf_counter()
    keras.utils.set_random_seed(config.seed)
    fit_samples, val_samples = validation_split(kept, config.validation_fraction, config.split_seed)
    size = config.image_size
    fit = cached_images(fit_samples, size, f"crosssource-{fold}-fit", use_cache)
    val = cached_images(val_samples, size, f"crosssource-{fold}-validation", use_cache)
    print(
        f"[{config.name}] without {fold}: {len(fit.kept)} training / {len(val.kept)} validation", flush=True
    )
    training, pastes = lesions.with_pastes(fit, config, boxes)
    model, records, _ = fit_model(config, training, val, weights)
    network = features_and_probabilities(model)

    def predicted(decoded: Decoded) -> tuple[np.ndarray, np.ndarray]:
        features, probabilities = predict_batches(network, decoded.images)
        return np.asarray(features), np.asarray(probabilities)

    fit_features, _ = predicted(fit)
    val_features, _ = predicted(val)
    guard = ood.fit(fit_features, fit.labels, validation_features=val_features)
    tables = []
    for part, part_samples in ((HELD_OUT, held), (IN_SOURCE, other_test)):
        decoded = cached_images(part_samples, size, f"crosssource-{fold}-{part}", use_cache)
        features, probabilities = predicted(decoded)
        table = predictions_table(decoded.kept, probabilities)
        table.insert(0, "part", part)
        table[ood.SCORE_COLUMN] = guard.scores(features)
        tables.append(table)
    facts = {
        "training_images": len(fit.kept),
        "lesion_pastes": pastes,
        "validation_images": len(val.kept),
        "epochs": len(records),
        "wall_time_s": round(time.perf_counter() - started, 1),
    }
    return pd.concat(tables, ignore_index=True), guard.threshold, facts


def crosssource(
    data_dir: Path,
    boxes_file: Path,
    out: Path,
    names: list[str],
    weights: str | None,
    use_cache: bool = True,
    note: str | None = None,
    keep_others: bool = False,
    settings: tuple[str, ...] = (),
) -> dict:
    """Run every fold for every model in `names`; write the results into `out`, return the summary.

    Args:
        note: what the recipe is, in words, kept with the results.
        keep_others: keep the results of the other models already in `out` (e.g. adding one model).
        settings: FIELD=VALUE changes to every model's config (ModelConfig.with_settings).
    """
    previous = (
        json.loads((out / SUMMARY_FILE).read_text()) if keep_others and (out / SUMMARY_FILE).is_file() else {}
    )
    boxes = provenance.read_boxes(boxes_file)
    if not boxes:
        raise FileNotFoundError(
            f"tumour-box file not found (needed to tell the collections apart): {boxes_file}"
        )
    train, test = find_samples(data_dir, TRAIN_SPLIT), find_samples(data_dir, TEST_SPLIT)
    result: dict = {"short_epochs": SHORT_EPOCHS, "short_copies": SHORT_COPIES, "folds": {}}
    result["note"] = note or previous.get("note")
    for fold in FOLDS:
        samples = fold_samples(fold, train, test, boxes)
        kept = previous.get("folds", {}).get(fold, {}).get("models", {})
        entry = result["folds"][fold] = {
            "held_out_images": len(samples[1]),
            "models": {name: figures for name, figures in kept.items() if name not in names},
        }
        for name in names:
            config = short(get_architecture(name).config.with_settings(list(settings)))
            table, threshold, facts = run_fold(config, fold, samples, boxes, weights, use_cache)
            with atomic_path(out / f"{fold}-{name}.csv") as temporary:
                table.to_csv(temporary, index=False, float_format=SCORE_FORMAT)
            entry["models"][name] = {
                **fold_summary(table, threshold),
                **facts,
                "config": dataclasses.asdict(config),
            }
            figures = entry["models"][name]
            print(
                f"[{name}] without {fold}: tumour recall {figures['tumour_recall']['estimate']:.3f}, "
                f"accuracy {figures['accuracy']['estimate']:.3f} on {figures['held_out_images']} images",
                flush=True,
            )
    for entry in result["folds"].values():  # in registry order, the kept results among them
        entry["models"] = {n: entry["models"][n] for n in cli.selected_models("all") if n in entry["models"]}
    add_warnings(result, out, data_dir, boxes, weights, use_cache)
    write_json(out / SUMMARY_FILE, result)
    return result


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    parser = cli.parser(__doc__.splitlines()[0], cache=True, boxes=True, settings=True)
    parser.add_argument("--recipe", default=CURRENT, help=f"the results' folder name (default {CURRENT})")
    parser.add_argument("--note", help="what the recipe is, shown with its results")
    parser.add_argument(
        "--warnings-only",
        action="store_true",
        help="recompute only the warning rules of the recipe's results",
    )
    args = parser.parse_args(argv)
    names = cli.selected_models(args.model)
    for name in names:  # a bad --set ends here, before any training
        cli.configured(get_architecture(name).config, args, parser)
    data_dir = paths.data_dir(args.data)
    out = Path(args.artifacts) / RESULTS_DIR / args.recipe
    out.mkdir(parents=True, exist_ok=True)
    weights = paths.imagenet_weights()  # MobileNetV2's start; the others ignore it
    boxes_file = provenance.boxes_path(data_dir, args.boxes)
    if not args.warnings_only:
        crosssource(
            data_dir,
            boxes_file,
            out,
            names,
            weights,
            not args.no_cache,
            args.note,
            args.model != "all",
            tuple(args.set),
        )
        return
    artifacts.load_crosssource(args.recipe, Path(args.artifacts))  # a clear error if missing or damaged
    summary = json.loads((out / SUMMARY_FILE).read_text())  # the file as written, to add the warnings to
    add_warnings(summary, out, data_dir, provenance.read_boxes(boxes_file), weights, not args.no_cache)
    write_json(out / SUMMARY_FILE, summary)


if __name__ == "__main__":
    cli.run(main)
