"""Tables that put the two models side by side (pure pandas; no TensorFlow, no Streamlit)."""

from collections import Counter
from dataclasses import dataclass
from itertools import combinations

import pandas as pd

from core import wording
from core.data import subsets
from core.data.dataset import CLASS_INDEX, CLASS_NAMES, CLASS_TITLES, PROBABILITY_COLUMNS
from core.evaluation import efficiency
from core.records import Metrics, ModelFacts

VERDICTS = ("wrong", "right", "either")  # what the explorer may ask of each model on an image
WRONG, RIGHT, EITHER = VERDICTS


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
    joined: pd.DataFrame, names: list[str], true_labels: list[str], predicted_labels: list[str]
) -> pd.DataFrame:
    """Images some model got wrong, filtered by class, sorted by the confidence of the wrong answer.

    Args:
        true_labels / predicted_labels: keep images whose true class is in the first and that some
            model got wrong with a class in the second; empty keeps all.

    Returns:
        Rows of joined, with `wrong_confidence` (the highest confidence of a wrong answer in
        `predicted_labels`), `models_wrong` (how many models are wrong) and `answers` (how many
        different classes the models give).
    """
    true_labels = true_labels or list(CLASS_NAMES)
    predicted_labels = predicted_labels or list(CLASS_NAMES)
    wrong = pd.DataFrame({name: ~joined[f"{name}_correct"] for name in names})
    # Wrong *with a predicted class in the filter*: the mistakes this view is about.
    wrong_in_filter = wrong & pd.DataFrame(
        {name: joined[f"{name}_label"].isin(predicted_labels) for name in names}
    )
    keep = wrong_in_filter.any(axis=1) & joined["true_label"].isin(true_labels)
    cases = joined[keep].copy()
    confidences = pd.DataFrame({name: cases[f"{name}_confidence"] for name in names})
    cases["wrong_confidence"] = confidences.where(wrong_in_filter[keep], 0.0).max(axis=1)
    cases["models_wrong"] = wrong[keep].sum(axis=1)
    cases["answers"] = cases[[f"{name}_label" for name in names]].nunique(axis=1)
    return cases.sort_values(["wrong_confidence", "path"], ascending=[False, True])


def matching(cases: pd.DataFrame, verdicts: dict[str, str]) -> pd.DataFrame:
    """The rows of `cases` on which every model is as `verdicts` asks, in their order.

    Args:
        verdicts: model name -> "wrong", "right" or "either" (VERDICTS); a model left out is "either".

    Raises:
        ValueError: a verdict not in VERDICTS, or one for a model `cases` lacks.
    """
    keep = pd.Series(True, index=cases.index)
    for name, verdict in verdicts.items():
        if verdict not in VERDICTS:
            raise ValueError(f"verdict for {name!r} must be one of {VERDICTS}, not {verdict!r}")
        if f"{name}_correct" not in cases:
            raise ValueError(f"no model {name!r} in these cases")
        if verdict != EITHER:
            keep &= cases[f"{name}_correct"] == (verdict == RIGHT)
    return cases[keep]


@dataclass(frozen=True)
class Bucket:
    """The images exactly these models get wrong, the others right: one part of a partition."""

    wrong: tuple[str, ...]  # in model order
    count: int

    def verdicts(self, names: list[str]) -> dict[str, str]:
        """The bucket as the verdicts `matching` takes."""
        return {name: WRONG if name in self.wrong else RIGHT for name in names}


def buckets(cases: pd.DataFrame, names: list[str]) -> list[Bucket]:
    """Every set of models that can be the ones wrong, with how many of `cases` it holds.

    Args:
        cases: rows of misclassified (some model wrong on each).

    Returns:
        One bucket per non-empty set of models, fewest models first (2**n - 1 of them, empty ones
        included): they partition `cases`, so their counts add up to len(cases).
    """
    wrong = ~cases[[f"{name}_correct" for name in names]].to_numpy(dtype=bool)  # (images, models)
    found = Counter(tuple(name for name, is_wrong in zip(names, row) if is_wrong) for row in wrong)
    return [
        Bucket(models, found.get(models, 0))
        for size in range(1, len(names) + 1)
        for models in combinations(names, size)
    ]


def verdicts_title(verdicts: dict[str, str], names: list[str], titles: dict[str, str]) -> str:
    """What a choice of verdicts shows: "Any model wrong", "Only MobileNetV2 wrong", "All 3 wrong",
    "MobileNetV2 and Custom CNN wrong, Control right"."""
    wrong = [name for name in names if verdicts.get(name, EITHER) == WRONG]
    right = [name for name in names if verdicts.get(name, EITHER) == RIGHT]
    if not wrong and not right:
        return f"{wording.either(len(names)).capitalize()} wrong"
    if len(wrong) == len(names):
        return f"{wording.both(len(names)).capitalize()} wrong"
    if len(wrong) == 1 and len(right) == len(names) - 1:
        return f"Only {titles[wrong[0]]} wrong"
    parts = [(wrong, WRONG), (right, RIGHT)]
    return ", ".join(f"{wording.listed([titles[n] for n in group])} {word}" for group, word in parts if group)


@dataclass(frozen=True)
class Sort:
    """One order of the misclassified images."""

    label: str  # how the sort control and the count sentence ("sorted by ...") name it
    column: str  # of misclassified's rows
    descending: bool


def sorts(names: list[str], titles: dict[str, str]) -> list[Sort]:
    """The orders the explorer offers, its default (the confidence of the wrong answer) first."""
    return [
        Sort("the confidence of the wrong answer", "wrong_confidence", True),
        *(Sort(f"{titles[name]}'s confidence, highest first", f"{name}_confidence", True) for name in names),
        Sort("true class", "true_label", False),
        Sort("disagreement: the most different answers first", "answers", True),
        Sort("the number of models wrong, most first", "models_wrong", True),
    ]


def sort_cases(cases: pd.DataFrame, sort: Sort) -> pd.DataFrame:
    """Rows of misclassified in `sort`'s order (classes in CLASS_NAMES order); ties by the
    confidence of the wrong answer, highest first, then by path."""
    order = [sort.column, *(column for column in ("wrong_confidence", "path") if column != sort.column)]
    ascending = [not sort.descending, *(column == "path" for column in order[1:])]
    return cases.sort_values(
        order,
        ascending=ascending,
        key=lambda column: column.map(CLASS_INDEX) if column.name == "true_label" else column,
        kind="stable",
    )


SUBSET_NAMES = {subsets.FULL: "full", subsets.CLEAN: "clean"}  # the export's `subset` column
NOT_AUDITED = "not audited"  # the export's leak status of an image the leakage audit lacks


def case_export(
    cases: pd.DataFrame, names: list[str], titles: dict[str, str], subset: str, leaks: dict[str, str]
) -> pd.DataFrame:
    """The rows a download gives, in their order: case_table's columns, every model's probability of
    each class ("MobileNetV2: P(Glioma)"), the test images the view is drawn from (`subset`: "full"
    or "clean") and each image's `leak status`.

    Args:
        subset: subsets.FULL or subsets.CLEAN, as the sidebar chose.
        leaks: test image path -> its leak status in words (core.studies.audit.leak_status); an
            image left out gets NOT_AUDITED.

    Raises:
        ValueError: `subset` is neither subsets.FULL nor subsets.CLEAN.
    """
    if subset not in SUBSET_NAMES:
        raise ValueError(f"subset must be one of {list(SUBSET_NAMES)}, not {subset!r}")
    table = case_table(cases, names, titles)
    for name in names:
        for cls in CLASS_NAMES:
            table[f"{titles[name]}: P({CLASS_TITLES[cls]})"] = cases[f"{name}_prob_{cls}"]
    table["subset"] = SUBSET_NAMES[subset]
    table["leak status"] = cases["path"].map(leaks).fillna(NOT_AUDITED)
    return table


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
