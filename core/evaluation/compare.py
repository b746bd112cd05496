"""Tables that put the two models side by side (pure pandas; no TensorFlow, no Streamlit)."""

from dataclasses import dataclass

import pandas as pd

from core import wording
from core.data.dataset import CLASS_NAMES, CLASS_TITLES, PROBABILITY_COLUMNS
from core.evaluation import efficiency
from core.records import Metrics, ModelFacts

MODES = ("either", "both", "only")


@dataclass(frozen=True)
class Headline:
    """The numbers on a model's metric card."""

    accuracy: float
    macro_f1: float
    total_params: int
    file_size_mb: float
    ms_per_image: float | None  # None where nothing was measured
    training_time_s: float


def headline(metrics: Metrics, model: ModelFacts, manifest: dict, benchmark: dict | None = None) -> Headline:
    """A model's card from its metrics (on the test images shown), its size, its manifest and its
    benchmark entry.

    Args:
        model: the model's size, from its metrics.json (a subset's metrics do not carry it).
        benchmark: this model's entry in benchmark.json: the latency is that of the backend the
            app predicts with (LiteRT fp32, batch 1); None where nothing was measured.
    """
    return Headline(
        accuracy=metrics.accuracy,
        macro_f1=metrics.macro_f1,
        total_params=model.total_params,
        file_size_mb=model.file_size_mb,
        ms_per_image=efficiency.served_latency_ms(benchmark),
        training_time_s=efficiency.training_seconds(manifest),
    )


def points(difference: float) -> str:
    """A difference of two rates in percentage points: "+1.25 points"."""
    return f"{difference * 100:+.2f} points"


@dataclass(frozen=True)
class Card:
    """One number on a model's card, with its difference from another model's."""

    label: str
    value: str  # "not measured" where the headline has none
    delta: str | None  # this model minus the other; None without both values
    delta_color: str  # Streamlit's: "normal" where higher is better, "inverse" where lower is


# label, Headline field, value format, difference format, which direction is good
CARDS = (
    ("Accuracy", "accuracy", "{:.2%}".format, points, "normal"),
    ("Macro F1", "macro_f1", "{:.2%}".format, points, "normal"),
    ("Parameters", "total_params", lambda n: f"{n / 1e6:.2f} M", lambda n: f"{n / 1e6:+.2f} M", "inverse"),
    ("File size", "file_size_mb", "{:.1f} MB".format, "{:+.1f} MB".format, "inverse"),
    ("Inference", "ms_per_image", "{:.1f} ms".format, "{:+.1f} ms".format, "inverse"),
    ("Training time", "training_time_s", lambda s: f"{s / 60:.1f} min", lambda s: f"{s / 60:+.1f} min",
     "inverse"),
)  # fmt: skip


def cards(headline: Headline, other: Headline | None = None) -> list[Card]:
    """A model's card, in CARDS order, each number with its difference from `other` (if given and
    not zero at the precision shown)."""
    shown = []
    for label, field, show, show_delta, delta_color in CARDS:
        value, other_value = getattr(headline, field), getattr(other, field) if other else None
        delta = show_delta(value - other_value) if None not in (value, other_value) else None
        if delta is not None and not any(digit in delta for digit in "123456789"):
            delta = None  # no difference at the precision shown: no arrow
        shown.append(Card(label, show(value) if value is not None else "not measured", delta, delta_color))
    return shown


def per_class_table(metrics_by_model: dict[str, Metrics], titles: dict[str, str]) -> pd.DataFrame:
    """Long table: model, class, metric, value, for the per-class chart and table."""
    rows = [
        {"model": titles[name], "class": cls, "metric": metric, "value": getattr(scores, metric)}
        for name, metrics in metrics_by_model.items()
        for cls, scores in metrics.per_class.items()
        for metric in ("precision", "recall", "f1")
    ]
    return pd.DataFrame(rows)


def per_class_wide(table: pd.DataFrame, metrics: Metrics | None = None) -> pd.DataFrame:
    """per_class_table as one row per class and model: class (its title), model, precision, recall, f1.

    Args:
        metrics: any model's metrics on the same images; given, an `images` column (each class's
            support: its test images) follows `class`.
    """
    wide = table.pivot_table(index=["class", "model"], columns="metric", values="value").reset_index()
    columns = ["class", "model", "precision", "recall", "f1"]
    if metrics is not None:
        wide["images"] = wide["class"].map({cls: s.support for cls, s in metrics.per_class.items()})
        columns.insert(1, "images")
    wide["class"] = wide["class"].map(CLASS_TITLES)
    return wide[columns]


def check_same_test_set(metrics_by_model: dict[str, Metrics]) -> None:
    """Raises ValueError unless every model's metrics carry one test-set fingerprint."""
    fingerprints = {name: metrics.test_fingerprint for name, metrics in metrics_by_model.items()}
    if len(set(fingerprints.values())) > 1:
        raise ValueError(f"the models were evaluated on different test sets {fingerprints}; re-evaluate them")


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


def case_table(cases: pd.DataFrame, names: list[str], titles: dict[str, str]) -> pd.DataFrame:
    """Rows of joined_predictions as a table shows them: image, true class, each model's answer and
    its confidence (0-1), under titled columns; `wrong_confidence` where misclassified set it."""
    table = pd.DataFrame({"image": cases["path"], "true class": cases["true_label"].map(CLASS_TITLES)})
    for name in names:
        table[titles[name]] = cases[f"{name}_label"].map(CLASS_TITLES)
        table[f"{titles[name]}: confidence"] = cases[f"{name}_confidence"]
    if "wrong_confidence" in cases:
        table["confidence of the wrong answer"] = cases["wrong_confidence"]
    return table


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


_FRACTIONS = {
    1 / 10: "a tenth",
    1 / 5: "a fifth",
    1 / 4: "a quarter",
    1 / 3: "a third",
    1 / 2: "half",
    2 / 3: "two thirds",
    3 / 4: "three quarters",
}


def share_in_words(share: float) -> str:
    """A share for a sentence: "About a third" for 0.365, "About 42%" where no simple fraction is
    within 5 points."""
    nearest = min(_FRACTIONS, key=lambda fraction: abs(fraction - share))
    return f"About {_FRACTIONS[nearest]}" if abs(nearest - share) <= 0.05 else f"About {share:.0%}"


def cards_sentence(
    headlines: dict[str, Headline], titles: dict[str, str], clean: bool, near_share: float | None = None
) -> str:
    """A plain-language sentence or two on size and speed, and what the test images are worth.

    Args:
        clean: the figures are on the clean subset (else on the full, leaky test set).
        near_share: the share of the test images with a near duplicate in Training (from the
            leakage audit); None without an audit.
    """
    smaller = min(headlines, key=lambda n: headlines[n].total_params)
    size = f"{headlines[smaller].total_params / 1e6:.1f} M parameters"
    if any(h.ms_per_image is None for h in headlines.values()):  # no benchmark: size only
        text = f"{titles[smaller]} is the smaller network ({size}). "
    else:
        best = min(round(h.ms_per_image, 1) for h in headlines.values())
        fastest = [n for n in headlines if round(headlines[n].ms_per_image, 1) == best]  # ties as shown
        speed = f"{best:.1f} ms per image"
        if fastest == [smaller]:
            text = f"{titles[smaller]} is the smaller and faster network ({size}, {speed}). "
        elif len(fastest) == 1:
            faster = titles[fastest[0]]
            text = f"{titles[smaller]} is the smaller network ({size}), {faster} the faster ({speed}). "
        else:
            tied = wording.listed([titles[n] for n in fastest])
            text = f"{titles[smaller]} is the smaller network ({size}); {tied} are the fastest ({speed}). "
    if clean:
        return text + (
            "These figures leave out every test image with a near duplicate in Training: the fairer "
            "comparison, on fewer images."
        )
    if near_share is None:
        return text + (
            "A test image may have a near-identical twin in the training set, which a model can answer "
            "from memory; `python -m core audit` counts them and opens the clean subset."
        )
    if near_share == 0:
        return text + "No test image has a near-identical twin in the training set."
    return text + (
        f"{share_in_words(near_share)} of these test images have a near-identical twin in the "
        "training set, so figures on the full test set, ours and published, partly measure memory: "
        "switch to the clean subset in the sidebar for the fairer comparison (see Leakage audit for "
        "what it changes)."
    )


def image_groups(joined: pd.DataFrame, names: list[str]) -> dict[str, list[str]]:
    """Ways to pick a test image: by true class, misclassified by any model, disagreement."""
    groups = {
        f"True class: {CLASS_TITLES[cls]}": joined.loc[joined["true_label"] == cls, "path"].tolist()
        for cls in CLASS_NAMES
    }
    wrong = ~joined[[f"{name}_correct" for name in names]].all(axis=1)
    groups[f"Misclassified by {wording.either(len(names))}"] = joined.loc[wrong, "path"].tolist()
    groups["The models disagree"] = joined.loc[~joined["agree"], "path"].tolist()
    return groups


def reference_table(
    headlines: dict[str, Headline], titles: dict[str, str], n_images: int, published: dict
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
        | {label: getattr(headline, key) for key, label in columns.items()}
        for name, headline in headlines.items()
    ]
    rows.append(
        {"model": "MobileNetV2", "source": f"published: {published['source']}",
         "test images": published["test_images"]}
        | {label: published[key] for key, label in columns.items()}
    )  # fmt: skip
    return pd.DataFrame(rows)
