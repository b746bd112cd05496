"""Tables that put the two models side by side (pure pandas; no TensorFlow, no Streamlit)."""

import numpy as np
import pandas as pd

from core import stats
from core.data import CLASS_NAMES, CLASS_TITLES, PROBABILITY_COLUMNS

MODES = ("either", "both", "only")


def headline(metrics: dict, manifest: dict, benchmark: dict | None = None) -> dict:
    """The numbers on a model's metric card.

    Args:
        benchmark: this model's entry in benchmark.json: the latency is that of the backend the
            app predicts with (LiteRT fp32, batch 1); None where nothing was measured.
    """
    litert = (benchmark or {}).get("timings_ms", {}).get("litert_fp32_batch_1")
    return {
        "accuracy": metrics["accuracy"],
        "macro_f1": metrics["macro_f1"],
        "total_params": metrics["model"]["total_params"],
        "file_size_mb": metrics["model"]["file_size_mb"],
        "ms_per_image": litert["median_ms"] if litert else None,
        "training_time_s": sum(
            seconds
            for phase, seconds in manifest["wall_time_s"].items()
            if phase not in ("evaluation", "total")
        ),
    }


def per_class_table(metrics_by_model: dict[str, dict], titles: dict[str, str]) -> pd.DataFrame:
    """Long table: model, class, metric, value, for the per-class chart and table."""
    rows = [
        {"model": titles[name], "class": cls, "metric": metric, "value": scores[metric]}
        for name, metrics in metrics_by_model.items()
        for cls, scores in metrics["per_class"].items()
        for metric in ("precision", "recall", "f1")
    ]
    return pd.DataFrame(rows)


def joined_predictions(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """One row per test image with every model's label, probabilities and correctness.

    Columns: path, true_label, then per model `<name>_label`, `<name>_confidence` (of its own
    label), `<name>_correct`, `<name>_prob_<class>`; and `agree` (all models give one label).

    Raises:
        ValueError: the tables do not list the same test images.
    """
    path_sets = {name: set(table["path"]) for name, table in tables.items()}
    if len({frozenset(paths) for paths in path_sets.values()}) > 1:
        sizes = ", ".join(f"{name}: {len(paths)}" for name, paths in path_sets.items())
        raise ValueError(f"the models were evaluated on different test images ({sizes}); re-evaluate them")
    joined = None
    for name, table in tables.items():
        part = table[["path", "true_label"]].copy()
        part[f"{name}_label"] = table["predicted_label"]
        part[f"{name}_confidence"] = table[PROBABILITY_COLUMNS].max(axis=1)
        part[f"{name}_correct"] = table["predicted_label"] == table["true_label"]
        for column in PROBABILITY_COLUMNS:
            part[f"{name}_{column}"] = table[column]
        joined = part if joined is None else joined.merge(part, on=["path", "true_label"], validate="1:1")
    joined["agree"] = joined[[f"{name}_label" for name in tables]].nunique(axis=1) == 1
    return joined


def cell_cases(joined: pd.DataFrame, name: str, true_label: str, predicted_label: str) -> pd.DataFrame:
    """The test images in one confusion-matrix cell of one model."""
    mask = (joined["true_label"] == true_label) & (joined[f"{name}_label"] == predicted_label)
    return joined[mask].sort_values(f"{name}_confidence", ascending=False)


def misclassified(
    joined: pd.DataFrame,
    names: list[str],
    true_labels: list[str],
    predicted_labels: list[str],
    mode: str = "either",
    only: str | None = None,
) -> pd.DataFrame:
    """Images some model got wrong, filtered and sorted by the confidence of the wrong answer.

    Args:
        true_labels / predicted_labels: keep images whose true class is in the first and whose
            wrong prediction (by a model counted as wrong) is in the second; empty keeps all.
        mode: "either" (at least one model wrong), "both" (every model wrong) or
            "only" (just the model `only` is wrong, the others right).

    Raises:
        ValueError: unknown mode, or "only" without a model name.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
    if mode == "only" and only not in names:
        raise ValueError(f"mode 'only' needs one of {names}, got {only!r}")
    true_labels = true_labels or list(CLASS_NAMES)
    predicted_labels = predicted_labels or list(CLASS_NAMES)
    # A model counts as wrong here when it is wrong *with a predicted class in the filter*.
    wrong = pd.DataFrame(
        {name: ~joined[f"{name}_correct"] & joined[f"{name}_label"].isin(predicted_labels) for name in names}
    )
    if mode == "either":
        keep = wrong.any(axis=1)
    elif mode == "both":
        keep = wrong.all(axis=1)
    else:
        others_right = joined[[f"{n}_correct" for n in names if n != only]].all(axis=1)
        keep = wrong[only] & others_right
    cases = joined[keep & joined["true_label"].isin(true_labels)].copy()
    wrong_confidence = pd.concat(
        [cases[f"{name}_confidence"].where(wrong.loc[cases.index, name], 0.0) for name in names], axis=1
    )
    cases["wrong_confidence"] = wrong_confidence.max(axis=1)
    return cases.sort_values("wrong_confidence", ascending=False)


def reading(headlines: dict[str, dict], titles: dict[str, str], clean: bool) -> str:
    """A plain-language sentence or two on size and speed, and what the test images are worth.

    Args:
        clean: the figures are on the clean subset (else on the full, leaky test set).
    """
    smaller = min(headlines, key=lambda n: headlines[n]["total_params"])
    size = f"{headlines[smaller]['total_params'] / 1e6:.1f} M parameters"
    if any(h["ms_per_image"] is None for h in headlines.values()):  # no benchmark: size only
        text = f"{titles[smaller]} is the smaller network ({size}). "
    else:
        faster = min(headlines, key=lambda n: headlines[n]["ms_per_image"])
        speed = f"{headlines[faster]['ms_per_image']:.1f} ms per image"
        text = (
            f"{titles[smaller]} is the smaller and faster network ({size}, {speed}). "
            if faster == smaller
            else f"{titles[smaller]} is the smaller network ({size}), {titles[faster]} the faster ({speed}). "
        )
    if clean:
        return text + (
            "These figures leave out every test image with a near duplicate in Training: the fairer "
            "comparison, on fewer images."
        )
    return text + (
        "About a third of these test images have a near-identical twin in the training set, so "
        "all figures on the full test set, ours and published, flatter every model: switch to the "
        "clean subset in the sidebar for the fairer comparison."
    )


def image_groups(joined: pd.DataFrame, names: list[str]) -> dict[str, list[str]]:
    """Ways to pick a test image: by true class, misclassified by either model, disagreement."""
    groups = {
        f"True class: {CLASS_TITLES[cls]}": joined.loc[joined["true_label"] == cls, "path"].tolist()
        for cls in CLASS_NAMES
    }
    wrong = ~joined[[f"{name}_correct" for name in names]].all(axis=1)
    groups["Misclassified by either model"] = joined.loc[wrong, "path"].tolist()
    groups["The models disagree"] = joined.loc[~joined["agree"], "path"].tolist()
    return groups


def reference_table(
    headlines: dict[str, dict], titles: dict[str, str], n_images: int, published: dict
) -> pd.DataFrame:
    """Our models' headline rows and the published MobileNetV2 row, labelled by source."""
    columns = {
        "accuracy": "accuracy",
        "macro_f1": "macro F1",
        "total_params": "parameters",
        "file_size_mb": "file size (MB)",
        "ms_per_image": "ms / image",
    }
    rows = [
        {"model": titles[name], "source": "this project (reproduced)", "test images": n_images}
        | {label: headline[key] for key, label in columns.items()}
        for name, headline in headlines.items()
    ]
    rows.append(
        {"model": "MobileNetV2", "source": f"published: {published['source']}",
         "test images": published["test_images"]}
        | {label: published[key] for key, label in columns.items()}
    )  # fmt: skip
    return pd.DataFrame(rows)


# ---- Subsets of the test set and paired statistics ----

FULL, CLEAN = "Full test set", "Clean subset"


def restrict(table: pd.DataFrame, paths: set[str] | None) -> pd.DataFrame:
    """The rows of a per-image table whose path is in `paths` (all rows if None)."""
    return table if paths is None else table[table["path"].isin(paths)]


def _indices(labels: pd.Series) -> np.ndarray:
    return labels.map(CLASS_NAMES.index).to_numpy(np.int8)  # int8: the bootstrap gathers them often


def paired_summary(joined: pd.DataFrame, names: list[str]) -> dict:
    """Both models on the same images: bootstrap CIs, their difference, McNemar, per class.

    Args:
        joined: joined_predictions, restricted to the images compared.
        names: two model names, a then b; differences are a minus b.

    Returns:
        "names": [a, b], "n_images", "intervals": {name: {"accuracy": Interval, "macro_f1":
        Interval}}, "difference": {metric: Interval of a - b}, "mcnemar": McNemar, "per_class":
        DataFrame with each class's recall for a and b and the difference with its interval.
    """
    a, b = names
    y_true = _indices(joined["true_label"])
    pred = {name: _indices(joined[f"{name}_label"]) for name in names}
    per_class = []
    for i, cls in enumerate(CLASS_NAMES):
        recall = stats.recall_of(i)
        difference = stats.paired_difference(y_true, pred[a], pred[b], recall)
        per_class.append(
            {
                "class": cls,
                "images": int((y_true == i).sum()),
                a: float(recall(y_true[None], pred[a][None])[0]),
                b: float(recall(y_true[None], pred[b][None])[0]),
                "difference": difference.estimate,
                "low": difference.low,
                "high": difference.high,
            }
        )
    return {
        "names": [a, b],
        "n_images": len(joined),
        "intervals": {
            name: {metric: stats.bootstrap_interval(y_true, pred[name], metric) for metric in stats.METRICS}
            for name in names
        },
        "difference": {
            metric: stats.paired_difference(y_true, pred[a], pred[b], metric) for metric in stats.METRICS
        },
        "mcnemar": stats.mcnemar(y_true, pred[a], pred[b]),
        "per_class": pd.DataFrame(per_class),
    }


def agreement_table(test: stats.McNemar, a: str, b: str) -> pd.DataFrame:
    """The 2x2 table of two models' right and wrong answers: rows model a, columns model b."""
    return pd.DataFrame(
        [[test.both_right, test.only_a_right], [test.only_b_right, test.both_wrong]],
        index=[f"{a} right", f"{a} wrong"],
        columns=[f"{b} right", f"{b} wrong"],
    )


def points_with_interval(difference: stats.Interval) -> str:
    """A difference of two rates in percentage points with its interval: "+1.5 points (95% CI ...)"."""
    low, high = difference.low * 100, difference.high * 100
    return f"{difference.estimate * 100:+.1f} points (95% CI {low:+.1f} to {high:+.1f})"


def _p(p_value: float) -> str:
    return "p < 0.001" if p_value < 0.001 else f"p = {p_value:.3f}"


def paired_reading(summary: dict, titles: dict[str, str]) -> str:
    """The paired comparison (paired_summary) in plain words, the more accurate model first."""
    a, b = summary["names"]
    difference, test = summary["difference"]["accuracy"], summary["mcnemar"]
    if difference.estimate < 0:  # say it the way round that reads naturally
        a, b = b, a
        difference = stats.Interval(-difference.estimate, -difference.high, -difference.low)
        only_a, only_b = test.only_b_right, test.only_a_right
    else:
        only_a, only_b = test.only_a_right, test.only_b_right
    points = points_with_interval(difference).lstrip("+")
    verdict = (
        "a difference this sample cannot tell from chance"
        if test.p_value >= 0.05 or difference.low <= 0
        else "a difference unlikely to be chance"
    )
    return (
        f"On these {summary['n_images']:,} images **{titles[a]}** is more accurate by {points}: "
        f"it is right on {only_a} images where {titles[b]} is wrong, and wrong on {only_b} where "
        f"{titles[b]} is right (McNemar's exact test, {_p(test.p_value)}), {verdict}."
    )
