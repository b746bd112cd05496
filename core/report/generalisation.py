"""The Generalisation page's tables and words: sources, each model per source, leave one source out,
the guard. The report's generalisation section shows the same (core.report.study_sections).

Pure pandas and numpy over the artifacts (core.data.provenance's provenance.json, each model's
predictions.csv, core.studies.crosssource's results); no Streamlit, no TensorFlow.
"""

import numpy as np
import pandas as pd

from core.artifacts import CURRENT_RECIPE
from core.data.dataset import CLASS_NAMES, CLASS_TITLES, NOTUMOR, class_indices
from core.evaluation import stats
from core.evaluation.stats import percent_interval
from core.records import CrossSourceSummary, FoldModel


def source_counts(provenance: dict) -> pd.DataFrame:
    """One row per split and source: images per class and the total."""
    rows = []
    for split, by_source in provenance["counts"].items():
        for source, by_class in by_source.items():
            counts = {CLASS_TITLES[name]: by_class[name] for name in CLASS_NAMES}
            rows.append(
                {
                    "Split": split,
                    "Source": source,
                    **counts,
                    "Images": sum(counts.values()),
                }
            )
    return pd.DataFrame(rows)


def inference_sentence(provenance: dict) -> str:
    """How well the content alone recovers the figshare slices (provenance.json), or ""."""
    check = provenance.get("inference")
    if not check:
        return ""
    return (
        f" Without the box file, the files' content alone (colour or grey, size, a thumbnail) picks "
        f"out figshare's tumour slices with {check['figshare_precision']:.0%} precision and "
        f"{check['figshare_recall']:.0%} recall on the {check['test_images']:,} Testing tumour slices "
        "(trained on Training's): the collections are alike, but not the same."
    )


def _labels(column: pd.Series) -> np.ndarray:
    return class_indices(column)


def per_source(
    predictions: dict[str, pd.DataFrame], test_sources: dict[str, str], titles: dict[str, str]
) -> pd.DataFrame:
    """Each model's accuracy and tumour recall (95% intervals) on the test images of each source.

    Args:
        predictions: model name -> its predictions table (already restricted to a subset, if any).
        test_sources: test image path -> source (provenance.json).
    """
    rows = []
    first = next(iter(predictions.values()))
    sources = first["path"].map(test_sources).fillna("unknown")
    for source in sorted(sources.unique()):
        paths = set(first.loc[sources == source, "path"])
        row: dict = {"Source": source, "Images": len(paths)}
        for name, table in predictions.items():
            part = table[table["path"].isin(paths)]
            y_true, y_pred = _labels(part["true_label"]), _labels(part["predicted_label"])
            row[f"{titles[name]}: accuracy"] = percent_interval(
                stats.bootstrap_interval(y_true, y_pred, "accuracy")
            )
            has_tumours = (y_true != NOTUMOR).any()
            recall = stats.bootstrap_interval(y_true, y_pred, stats.tumour_recall) if has_tumours else None
            row[f"{titles[name]}: tumour recall"] = percent_interval(recall) if recall else "no tumours"
        rows.append(row)
    return pd.DataFrame(rows)


def crosssource_table(summary: CrossSourceSummary, titles: dict[str, str]) -> pd.DataFrame:
    """One row per held-out source and model: tumour recall, accuracy, the other test images."""
    rows = []
    for held_out, fold in summary.folds.items():
        for name, figures in fold.models.items():
            rows.append(
                {
                    "Held out": held_out,
                    "Model": titles.get(name, name),
                    "Held-out images": figures.held_out_images,
                    "Tumour recall": percent_interval(figures.tumour_recall),
                    "Accuracy": percent_interval(figures.accuracy),
                    "Accuracy, other test images": percent_interval(figures.in_source_accuracy),
                    "Training images": figures.training_images,
                    "Pasted-lesion slices": figures.lesion_pastes,
                }
            )
    return pd.DataFrame(rows)


def recipes_table(summaries: dict[str, CrossSourceSummary], titles: dict[str, str]) -> pd.DataFrame:
    """Every recipe tried, side by side: one row per recipe and held-out source, one column per
    model with its tumour recall / accuracy on the held-out images ("not run" where the recipe
    did not train that model)."""
    folds = [fold for summary in summaries.values() for fold in summary.folds.values()]
    names = list(dict.fromkeys(name for fold in folds for name in fold.models))
    rows = []
    for recipe, summary in summaries.items():
        for held_out, fold in summary.folds.items():
            row = {"Recipe": recipe_title(recipe), "Held out": held_out}
            for name in names:
                row[titles.get(name, name)] = _recall_and_accuracy(fold.models.get(name))
            rows.append(row)
    return pd.DataFrame(rows)


def _recall_and_accuracy(figures: FoldModel | None) -> str:
    if figures is None:
        return "not run"
    return f"{figures.tumour_recall.estimate:.1%} / {figures.accuracy.estimate:.1%}"


def warnings_table(summary: CrossSourceSummary, titles: dict[str, str]) -> pd.DataFrame:
    """One row per held-out source and model, one column per warning rule: the share of the
    held-out tumours the model calls "no tumor" that the rule catches, and (in brackets) its false
    alarms: warnings on the other test images whose answer was right."""
    rows = []
    for held_out, fold in summary.folds.items():
        for name, figures in fold.models.items():
            if not (found := figures.warnings):
                continue
            missed, right = found["missed_tumours"], found["in_source_right"]
            row = {"Held out": held_out, "Model": titles.get(name, name), "Tumours called no tumor": missed}
            for rule in (key for key, value in found.items() if isinstance(value, dict)):
                caught = f"{found[rule]['caught'] / missed:.0%}" if missed else "-"
                row[rule.capitalize()] = f"{caught} ({found[rule]['false_alarms'] / right:.1%})"
            rows.append(row)
    return pd.DataFrame(rows)


def recall_line(summary: CrossSourceSummary, titles: dict[str, str]) -> str:
    """One sentence: the tumour recall, and accuracy, on each held-out source of each model that
    `titles` names (a model card's)."""
    parts = []
    for held_out, fold in summary.folds.items():
        figures = ", ".join(
            f"{titles[name]} {m.tumour_recall.estimate:.0%} ({m.accuracy.estimate:.0%})"
            for name, m in fold.models.items()
            if name in titles
        )
        if figures:
            parts.append(f"without {held_out}: {figures}")
    if not parts:
        return ""
    return "Tumour recall (and accuracy) on a collection held out of training — " + "; ".join(parts) + "."


# What the Generalisation page and the report's generalisation section both say, written once.
SOURCES_HEADING = "Where the images come from"
PER_SOURCE_HEADING = "Each model per source"
CROSSSOURCE_HEADING = "Leave one source out"
WARNINGS_HEADING = "Warnings on a collection the model has not seen"
WARNINGS_CAPTION = "Each cell: caught (false alarms). Target: at least 80% caught, at most 2% false alarms."
WARNINGS_PREDATE = "These results predate the warning rules: `python -m core crosssource --warnings-only`."


def recipe_title(recipe: str) -> str:
    """A leave-one-source-out recipe's name as shown: "Shipped recipe" or "Tried: intensity and pastes"."""
    return "Shipped recipe" if recipe == CURRENT_RECIPE else f"Tried: {recipe.replace('-', ' ')}"


def recipe_sentence(summary: CrossSourceSummary) -> str:
    """What the models of a leave-one-source-out run trained with, from their stored configs.

    Args:
        summary: one recipe's leave-one-source-out results (artifacts.load_crosssource).

    Returns:
        One sentence, e.g. "Recipe: every image decoded in grey, rotation, shift, zoom and flips."
    """
    config = summary.first.config
    parts = ["every image decoded in grey", "rotation, shift, zoom and flips"]
    if config["random_convolution"]:
        parts.append(f"{config['random_convolution']:.0%} of images through a random shallow network (GIN)")
    if config["intensity_augmentation"]:
        inversion = config["inversion_probability"]
        changes = "gamma, contrast, bias field, blur, noise" + (
            f", inversion ({inversion:.0%})" if inversion else ""
        )
        strength = config["intensity_strength"]
        parts.append(f"intensity changes ({changes}{f'; strength {strength:g}' if strength != 1 else ''})")
    if config["lesion_pastes"]:
        parts.append(f"{config['lesion_pastes']:g} pasted-lesion slice per no-tumour slice")
    for name, figures in next(iter(summary.folds.values())).models.items():
        if layers := figures.config["fine_tune_layers"]:
            parts.append(f"{figures.config.get('display_name', name)} fine-tuned on its top {layers} layers")
    return f"Recipe: {', '.join(parts)}."


def recipe_note(summary: CrossSourceSummary) -> str:
    """The run's own note where it has one (an older recipe's), else what it trained with."""
    return summary.note or recipe_sentence(summary)


def crosssource_sentence(summary: CrossSourceSummary) -> str:
    """What leave one source out does, and with which recipe (one recipe's results)."""
    return (
        "Each model trained without one collection's images, then tested on all of them. "
        f"{recipe_note(summary)}"
    )


def schedule_caption(summary: CrossSourceSummary) -> str:
    """The short schedule the fold models trained on, and why the no-tumour slices stay in training."""
    who = "both models" if summary.compared == 2 else "every model"
    return (
        f"A short schedule, the same for {who}: at most {summary.short_epochs} epochs a phase, "
        f"MobileNetV2 fine-tuned on {summary.short_copies} cached augmented copies; 95% bootstrap "
        "intervals. The no-tumour slices stay in training: a collection whose tumours the model never "
        "saw while its no-tumour slices are familiar is what a new hospital looks like."
    )


def held_out_title(title: str, fold: str) -> str:
    """The heading over a fold model's confusion matrix, e.g. "**CNN** on the held-out SARTAJ images"."""
    return f"**{title}** on the held-out {fold} images"
