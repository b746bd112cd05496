"""The report's sections on the studies: the leakage audit, generalisation (sources, leave one
source out, localisation) and the model card.
"""

import pandas as pd

from core import artifacts
from core.data import provenance, subsets
from core.data.dataset import CLASS_TITLES
from core.evaluation import paired
from core.records import CrossSourceSummary
from core.report import external, generalisation, model_card
from core.report.figures import confusion_figure
from core.report.found import Found
from core.report.markup import Figures, absent, bullets, heading, paragraph, table
from core.studies import audit, localisation


def leakage_section(found: Found) -> list[str]:
    """The leakage audit: duplicates between and within the splits, each model on the clean subset."""
    if found.audit is None:
        return [absent("The leakage audit", found.absent["audit"])]
    result, summary = found.audit, subsets.AuditSummary.from_json(found.audit)
    counts = pd.DataFrame(
        [
            {"test images": label, "images": count, "share": summary.share(count)}
            for label, count in {"All": summary.test_images, **summary.parts}.items()
        ]
    )
    parts = [
        paragraph(audit.WHY),
        paragraph(audit.PATIENT_CAVEAT),
        table(counts, percent=["share"], counts=["images"]),
        heading(3, audit.CLEAN_SUBSET_HEADING),
        table(
            audit.subset_metrics(found.predictions, result, found.titles),
            percent=["accuracy", "macro F1"],
            counts=["images"],
        ),
        heading(3, "Per class"),
        table(
            audit.per_class_table(result),
            counts=["test images", "same file in Training", "near duplicate (incl. same file)"],
        ),
        paragraph(audit.within_sentence(result)),
        paragraph(audit.method_sentence(result), "caption"),
    ]
    if (leak := audit.validation_leak_table(result)) is not None:
        parts += [
            heading(3, audit.VALIDATION_HEADING),
            table(
                leak,
                percent=["share"],
                counts=["validation images", "with a near duplicate in the fitted part"],
            ),
        ]
    parts += [
        heading(3, audit.LABEL_CONFLICTS_HEADING),
        paragraph(audit.LABEL_CONFLICTS_SENTENCE),
        bullets(f"`{path}`" for path in provenance.LABEL_CONFLICTS),
        paragraph(
            "The image pairs themselves are on the dashboard's Leakage audit page (it needs the dataset).",
            "caption",
        ),
    ]
    return parts


def _crosssource_parts(found: Found, recipe: str, summary: CrossSourceSummary, figure: Figures) -> list[str]:
    short = found.short_names
    parts = [
        heading(3, generalisation.recipe_title(recipe)),
        paragraph(generalisation.crosssource_sentence(summary)),
        table(
            generalisation.crosssource_table(summary, short),
            counts=["Held-out images", "Training images", "Pasted-lesion slices"],
        ),
    ]
    if recipe != artifacts.CURRENT_RECIPE:
        return parts
    parts.append(paragraph(generalisation.schedule_caption(summary), "caption"))
    for held_out, fold in summary.folds.items():
        cells = [
            figure(
                confusion_figure(result.confusion, normalize=False, color=found.colors.get(name, "#6b7280")),
                generalisation.held_out_title(short.get(name, name), held_out),
            )
            for name, result in fold.models.items()
        ]
        parts += ['<div class="grid">', *cells, "</div>"]
    warnings = generalisation.warnings_table(summary, short)
    parts.append(heading(4, generalisation.WARNINGS_HEADING))
    if warnings.empty:
        parts.append(paragraph(generalisation.WARNINGS_PREDATE, "absent"))
    else:
        parts += [
            table(warnings, counts=["Tumours called no tumor"]),
            paragraph(generalisation.WARNINGS_CAPTION, "caption"),
        ]
    return parts


def _sources_parts(found: Found, compared: list[str]) -> list[str]:
    parts = [
        table(generalisation.source_counts(found.provenance), counts=[*CLASS_TITLES.values(), "Images"]),
        paragraph(generalisation.inference_sentence(found.provenance).strip(), "caption"),
    ]
    for subset in (subsets.FULL, subsets.CLEAN):
        if subset == subsets.CLEAN and found.clean_paths is None:
            continue
        chosen = found.clean_paths if subset == subsets.CLEAN else None
        predictions = {name: paired.restrict(found.predictions[name], chosen) for name in compared}
        parts += [
            heading(4, f"{generalisation.PER_SOURCE_HEADING}, {subset.lower()}"),
            table(
                generalisation.per_source(predictions, found.provenance["test_sources"], found.short_names),
                counts=["Images"],
            ),
        ]
    return parts


def generalisation_section(found: Found, figure: Figures) -> list[str]:
    """Per source, leave one source out (with its confusion matrices) and localisation."""
    compared = [name for name in found.names if name not in found.controls]
    parts = [heading(3, generalisation.SOURCES_HEADING)]
    if found.provenance is None:
        parts.append(absent("The source table", found.absent["provenance"]))
    else:
        parts += _sources_parts(found, compared)
    parts.append(heading(3, generalisation.CROSSSOURCE_HEADING))
    if not found.crosssource:
        parts.append(_no_crosssource(found))
    for recipe, summary in found.crosssource.items():
        parts += _crosssource_parts(found, recipe, summary, figure)
    parts += _external_parts(found)
    parts.append(heading(3, localisation.HEADING))
    if found.localisation is None:
        parts.append(absent("Localisation", found.absent["localisation"]))
    else:
        parts += _localisation_parts(found)
    return parts


def _external_parts(found: Found) -> list[str]:
    parts = [heading(3, external.HEADING)]
    if found.external is None:
        return [*parts, absent("The external validation set", found.absent.get("external", "no results"))]
    return [
        *parts,
        paragraph(external.sentence(found.external)),
        table(external.table(found.external, found.short_names)),
        *([paragraph(external.warnings_sentence(found.warnings))] if found.warnings else []),
    ]


def _no_crosssource(found: Found) -> str:
    why = found.absent.get(artifacts.CURRENT_RECIPE, "no results")
    return absent(generalisation.CROSSSOURCE_HEADING, why)


def _localisation_parts(found: Found) -> list[str]:
    summary = found.localisation
    parts = [paragraph(localisation.scores_sentence(summary))]
    for subset, title in ((localisation.FULL, subsets.FULL), (localisation.CLEAN, subsets.CLEAN)):
        if subset not in summary["images"]:
            continue
        sentences = [
            localisation.paired_sentence(summary, subset, method, found.titles)
            for method in summary["paired"]
        ]
        parts += [
            heading(4, f"{title} ({summary['images'][subset]:,} boxed images)"),
            table(localisation.scores_table(summary, subset, found.titles)),
            *(paragraph(sentence, "caption") for sentence in sentences if sentence),
        ]
    return parts


def model_card_section(found: Found) -> list[str]:
    """The model card: the training collections, how the models fare beyond them, what not to use them for."""
    parts = [paragraph(model_card.TRAINING_DATA), bullets(model_card.coverage_items())]
    if summary := found.crosssource.get(artifacts.CURRENT_RECIPE):
        parts += [
            paragraph(model_card.beyond_line(summary, found.titles)),
            paragraph(generalisation.recipe_note(summary)),
        ]
    else:
        parts.append(_no_crosssource(found))
    parts += [paragraph(model_card.NOT_FOR_HEADING), bullets(model_card.NOT_FOR)]
    return parts
