"""Tables that put the two models side by side (pure pandas; no TensorFlow, no Streamlit)."""

import pandas as pd

from core.data import CLASS_NAMES, CLASS_TITLES, PROBABILITY_COLUMNS

MODES = ("either", "both", "only")


def headline(metrics: dict, manifest: dict) -> dict:
    """The numbers on a model's metric card."""
    return {
        "accuracy": metrics["accuracy"],
        "macro_f1": metrics["macro_f1"],
        "total_params": metrics["model"]["total_params"],
        "file_size_mb": metrics["model"]["file_size_mb"],
        "ms_per_image": metrics["timing"]["batch_1_ms"],
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


def reading(headlines: dict[str, dict], titles: dict[str, str], n_images: int) -> str:
    """A plain-language sentence or three on who wins what, from the headline numbers."""
    if len(headlines) != 2:
        return ""
    (a, ha), (b, hb) = sorted(headlines.items(), key=lambda item: -item[1]["accuracy"])
    gap = (ha["accuracy"] - hb["accuracy"]) * 100
    wrong_a, wrong_b = round((1 - ha["accuracy"]) * n_images), round((1 - hb["accuracy"]) * n_images)
    text = (
        f"On the {n_images:,} test images, **{titles[a]}** is more accurate by {gap:.1f} points "
        f"({ha['accuracy']:.1%} vs {hb['accuracy']:.1%}): {wrong_a} mistakes against {wrong_b}. "
        if gap > 0
        else f"On the {n_images:,} test images both models reach {ha['accuracy']:.1%}. "
    )
    smaller = min(headlines, key=lambda n: headlines[n]["total_params"])
    faster = min(headlines, key=lambda n: headlines[n]["ms_per_image"])
    size = f"{headlines[smaller]['total_params'] / 1e6:.1f} M parameters"
    speed = f"{headlines[faster]['ms_per_image']:.0f} ms per image"
    if smaller == faster:
        text += f"{titles[smaller]} is the smaller and faster network ({size}, {speed}). "
    else:
        text += f"{titles[smaller]} is the smaller network ({size}), {titles[faster]} the faster ({speed}). "
    return text + (
        "About a third of these test images have a near-identical twin in the training set, so "
        "all figures here, ours and published, flatter every model."
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
