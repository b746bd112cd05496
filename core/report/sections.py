"""The report's sections on the classification itself: the verdict, each model's headline figures,
per class and the confusion matrices, on the full test set and on the clean subset.
"""

import pandas as pd

from core import artifacts
from core.data import subsets
from core.evaluation import compare, paired, seeds, verdict
from core.report import axes, external, generalisation, reference
from core.report.figures import confusion_figure, per_class_bars
from core.report.found import Found, subset_metrics
from core.report.markup import MISSING, Figures, absent, heading, markdown, paragraph, table


def _axes(
    found: Found, found_verdict: verdict.Verdict, spreads: dict[str, seeds.Spread], figure: Figures
) -> list[str]:
    """The two axes' headline (core.report.axes), and where runs were scored, their sentence and chart."""
    in_source = verdict.headline(found_verdict, found.titles)
    if found.external is None:
        return [f"<h3>{markdown(in_source)}</h3>"]
    parts = [
        f"<h3>{markdown(axes.headline(in_source, found.external, found.external_table, found.titles))}</h3>"
    ]
    if found.runs:
        where = f"the {(subsets.CLEAN if found.clean_paths else subsets.FULL).lower()}"
        runs = axes.runs_table(spreads, found.external, found.titles)
        colors = {found.titles[name]: color for name, color in found.colors.items()}
        parts += [
            paragraph(axes.sentence(runs, where, found.external)),
            figure(axes.axes_figure(runs, colors, where)),
        ]
        if note := axes.missing_note(runs):
            parts.append(paragraph(note, "caption"))
    return parts


def _spreads(found: Found) -> dict[str, seeds.Spread]:
    """Each model's runs over seeds on the clean subset (the full test set without an audit)."""
    chosen = found.clean_paths
    return {
        name: seeds.spread({seed: paired.restrict(table, chosen) for seed, table in runs.items()})
        for name, runs in (found.runs or {}).items()
    }


def verdict_section(found: Found, figure: Figures) -> list[str]:
    """The verdict box: both axes' headline and chart (core.report.axes), the in-source verdict's
    sentence and table (core.evaluation.verdict), and the out-of-source lines."""
    if len(found.names) < 2:
        return [
            absent("The verdict", f"it compares two models, and the artifacts hold one ({found.names[0]}).")
        ]
    try:
        compare.check_same_test_set(found.metrics)
        joined = compare.joined_predictions(found.predictions)
    except ValueError as error:
        return [absent("The verdict", str(error))]
    found_verdict = verdict.build(joined, found.names, found.clean_paths, found.runs)
    spreads = _spreads(found)  # both axes' runs, and the means the sentence on what each buys takes
    parts = [
        *_axes(found, found_verdict, spreads, figure),
        paragraph("**In source**"),
        paragraph(verdict.sentence(found_verdict, found.titles)),
        table(
            verdict.table(found_verdict, found.titles),
            percent=[found.titles[name] for name in found_verdict.names],
            counts=["images"],
        ),
    ]
    if found.crosssource.get(artifacts.CURRENT_RECIPE) or found.external is not None:
        parts.append(paragraph("**Out of source**"))
    if summary := found.crosssource.get(artifacts.CURRENT_RECIPE):
        parts.append(paragraph(generalisation.recall_line(summary, found.titles), "caption"))
    if found.external is not None:
        served, where = found.in_source
        in_source = seeds.means(spreads, served)  # as the headline's
        parts += [
            paragraph(external.line(found.external, found.titles), "caption"),
            paragraph(
                external.axes_sentence(
                    in_source, f"the {where.lower()}", found.external, found.titles, found.same_recipe
                )
            ),
        ]
    if found.audit is None:
        parts.append(absent("The clean subset", found.absent["audit"]))
    return ['<div class="verdict">', *parts, "</div>"]


def _headlines(found: Found, subset: str) -> dict[str, compare.Headline] | None:
    benchmark = (found.benchmark or {}).get("models", {})
    chosen = subset_metrics(found, subset)
    if chosen is None:
        return None
    return {
        name: compare.headline(
            chosen[name], found.metrics[name].model, found.manifests[name], benchmark.get(name)
        )
        for name in found.names
    }


def _cards_table(found: Found, headlines: dict[str, compare.Headline]) -> pd.DataFrame:
    """One row per model: each card's value, its difference from another model in brackets."""
    rows = []
    for name in found.names:
        other = next((o for o in found.names if o != name), None)
        row = {"model": found.titles[name], "compared with": found.titles[other] if other else MISSING}
        for card in compare.cards(headlines[name], headlines[other] if other else None):
            row[card.label] = f"{card.value} ({card.delta})" if card.delta else card.value
        rows.append(row)
    return pd.DataFrame(rows)


def headline_section(found: Found) -> list[str]:
    """Each model's card on the full test set and the clean subset, the reading, the published row."""
    parts = []
    for subset in (subsets.FULL, subsets.CLEAN):
        headlines = _headlines(found, subset)
        if headlines is None:
            parts.append(absent(f"The {subset.lower()}", found.absent.get("audit", "no audit")))
            continue
        parts += [
            heading(3, subset),
            table(_cards_table(found, headlines)),
        ]
        # The reading's advice on the full test set is the sidebar's switch: here, the next table.
        if subset == subsets.CLEAN or found.audit is None:
            parts.append(
                paragraph(compare.cards_sentence(headlines, found.titles, clean=subset == subsets.CLEAN))
            )
    parts.append(
        paragraph(
            "In brackets: the model minus the one it is compared with. Inference: median batch-1 latency "
            "through LiteRT on the machine that ran the benchmark."
            + (
                "" if found.benchmark else " No benchmark in the artifacts: `python -m benchmarks.inference`."
            ),
            "caption",
        )
    )
    full = _headlines(found, subsets.FULL)
    published = compare.reference_table(full, found.titles, found.n_images, reference.PUBLISHED_MOBILENETV2)
    parts += [
        heading(3, reference.HEADING),
        table(
            published,
            percent=["accuracy", "macro F1"],
            counts=["test images", "parameters"],
            formats={column: "{:.1f}".format for column in ("file size (MB)", "ms / image")},
        ),
        paragraph(reference.caption(found.n_images), "caption"),
    ]
    return parts


def per_class_section(found: Found, figure: Figures) -> list[str]:
    """Precision, recall and F1 per class and model, with images per class, on each test set."""
    parts = []
    colors = {found.titles[name]: found.colors[name] for name in found.names}
    for subset in (subsets.FULL, subsets.CLEAN):
        chosen = subset_metrics(found, subset)
        if chosen is None:
            parts.append(absent(f"The {subset.lower()}", found.absent.get("audit", "no audit")))
            continue
        long = compare.per_class_table(chosen, found.titles)
        any_model = next(iter(chosen.values()))  # every model scored the same images
        wide = compare.per_class_wide(long, any_model)
        n = any_model.n_images
        parts += [
            heading(3, f"{subset} ({n:,} images)"),
            figure(per_class_bars(long, colors)),
            table(wide, percent=["precision", "recall", "f1"], counts=["images"]),
        ]
    return parts


def confusion_section(found: Found, figure: Figures) -> list[str]:
    """Each model's confusion matrix (counts) on the full test set and on the clean subset."""
    parts = [
        paragraph(
            "Rows: true class. Columns: predicted class. Cells: images; shade: share of the row.", "caption"
        )
    ]
    for subset in (subsets.FULL, subsets.CLEAN):
        chosen = subset_metrics(found, subset)
        if chosen is None:
            parts.append(absent(f"The {subset.lower()}", found.absent.get("audit", "no audit")))
            continue
        cells = [
            figure(
                confusion_figure(metrics.confusion_matrix, normalize=False, color=found.colors[name]),
                f"**{found.titles[name]}**",
            )
            for name, metrics in chosen.items()
        ]
        parts += [heading(3, subset), '<div class="grid">', *cells, "</div>"]
    return parts
