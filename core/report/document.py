"""The whole comparison as one self-contained HTML file, to read offline or attach to a review.

CLI: python -m core report --out report.html [--artifacts DIR]

Everything comes from the artifacts (core.artifacts) through the core functions the pages call:
the verdict (core.evaluation.verdict), each model's headline and per-class figures
(core.evaluation.compare), the confusion matrices (core.report.figures), the leakage audit
(core.studies.audit), generalisation (core.report.generalisation, core.studies.localisation) and
the model card (core.report.model_card). Plotly's
JavaScript is embedded once, so the figures draw without a network. A missing or damaged
optional artifact (the audit, the sources, leave one source out, localisation, the benchmark)
leaves its section saying so; the rest still renders.
"""

import html
import re
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import pandas as pd
import plotly.graph_objects as go

from core import artifacts, cli, paths, report
from core.data import provenance, release, subsets
from core.data.dataset import CLASS_NAMES, CLASS_TITLES, TEST_SPLIT, TRAIN_SPLIT
from core.evaluation import compare, paired, verdict
from core.models import registry
from core.report import generalisation, model_card
from core.report.figures import confusion_figure, per_class_bars
from core.report.reference import PUBLISHED_MOBILENETV2
from core.studies import audit, localisation

T = TypeVar("T")

FILE_NAME = report.FILE_NAME
TITLE = "Brain tumour MRI: transfer learning vs training from scratch"
PLOTLY_CONFIG = {"displayModeBar": False, "responsive": True}
MISSING = "–"  # a cell with no value
UNITS = ("ms ",)  # column names that start with a unit, not to be capitalised

CSS = """
:root { color-scheme: light dark; --fg: #111827; --bg: #ffffff; --muted: #6b7280; --line: #e5e7eb;
  --card: #f8fafc; --accent: #2563eb; }
@media (prefers-color-scheme: dark) {
  :root { --fg: #e5e7eb; --bg: #0f172a; --muted: #9ca3af; --line: #334155; --card: #1e293b;
    --accent: #93c5fd; }
}
body { font: 15px/1.55 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg);
  background: var(--bg); max-width: 1180px; margin: 2rem auto; padding: 0 1.25rem; }
h1 { font-size: 1.7rem; margin-bottom: .25rem; }
h2 { margin-top: 2.5rem; padding-bottom: .25rem; border-bottom: 1px solid var(--line); }
h3 { margin-top: 1.5rem; }
a { color: var(--accent); }
code { font-size: .9em; background: var(--card); padding: 0 .25em; border-radius: 3px; }
.muted, .caption { color: var(--muted); }
.caption { font-size: .9rem; }
.absent { color: var(--muted); font-style: italic; border-left: 3px solid var(--line);
  padding-left: .75rem; }
.verdict { border: 1px solid var(--line); border-radius: 8px; background: var(--card);
  padding: .25rem 1.25rem 1rem; }
.table-wrap { overflow-x: auto; }
table { border-collapse: collapse; margin: .5rem 0 1rem; font-size: .9rem;
  font-variant-numeric: tabular-nums; }
th, td { padding: .3rem .65rem; border-bottom: 1px solid var(--line); text-align: left;
  vertical-align: top; }
thead th { border-bottom: 2px solid var(--muted); }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(330px, 1fr)); gap: 1rem;
  margin-bottom: 1rem; }
.grid > * { min-width: 0; }
.figure { background: #ffffff; color: #111827; border-radius: 8px; padding: .25rem .5rem; }
.figure h4 { margin: .5rem 0 0; }
nav ol { columns: 2; }
@media print { .figure { break-inside: avoid; } }
"""


# Each figure is drawn as its <div> arrives, before the grid around it is complete: one resize
# event once the page has loaded lets plotly's responsive figures fit their final cells.
RELAYOUT = (
    "<script>window.addEventListener('load', () => window.dispatchEvent(new Event('resize')));</script>"
)


@dataclass(frozen=True)
class Found:
    """What the report is built from: each model's artifacts and the optional dataset-wide ones.

    An optional artifact that could not be read is None, and `absent` says why (its ArtifactError).
    """

    root: Path
    names: list[str]  # the shipped models, in registry order
    titles: dict[str, str]  # model name -> display name
    short_names: dict[str, str]  # model name -> the registry's short name
    colors: dict[str, str]  # model name -> its plots' colour
    controls: frozenset[str]  # experimental controls, left out of generalisation as on its page
    metrics: dict[str, dict]
    manifests: dict[str, dict]
    predictions: dict[str, pd.DataFrame]
    clean_metrics: dict[str, dict] | None  # each model's metrics on the clean subset; None: no audit
    runs: dict[str, dict[int, pd.DataFrame]] | None  # seed -> test predictions, first two models
    audit: dict | None
    provenance: dict | None
    crosssource: dict[str, dict]  # recipe -> leave-one-source-out summary, the current one first
    localisation: dict | None
    benchmark: dict | None
    absent: dict[str, str]  # optional artifact -> why it is not in the report

    @property
    def clean_paths(self) -> frozenset[str] | None:
        """The clean subset's test images, or None without an audit."""
        return frozenset(subsets.clean_test_paths(self.audit)) if self.audit else None

    @property
    def n_images(self) -> int:
        return self.metrics[self.names[0]]["n_images"]


def _optional(load: Callable[[], T], key: str, absent: dict[str, str]) -> T | None:
    """`load()`, or None, the reason in `absent[key]`, where its artifact is missing or damaged."""
    try:
        return load()
    except artifacts.ArtifactError as error:
        absent[key] = str(error)
        return None


def gather(root: Path | None = None, titles: dict[str, str] | None = None) -> Found:
    """Read every artifact the report shows.

    Args:
        root: the artifacts folder (default: paths.artifacts_dir()).
        titles: model name -> title to show; default each model's display name (config.json).

    Raises:
        ArtifactError: there is no trained model, or one of its files is missing or damaged.
    """
    root = paths.artifacts_dir(root)
    names = artifacts.available_models(root)
    if not names:
        raise artifacts.ArtifactError(
            f"no trained model in {root}: train them with `python -m core train --model all`"
        )
    configs = {name: artifacts.load_config(name, root) for name in names}
    architectures = {name: registry.get(config.architecture) for name, config in configs.items()}
    absent: dict[str, str] = {}
    recipes = artifacts.crosssource_recipes(root)
    crosssource = {
        recipe: summary
        for recipe in recipes
        if (summary := _optional(lambda r=recipe: artifacts.load_crosssource(r, root), recipe, absent))
    }
    if not recipes:
        _optional(lambda: artifacts.load_crosssource(root=root), artifacts.CURRENT_RECIPE, absent)
    scored = _optional(lambda: artifacts.load_localisation(root), "localisation", absent)
    predictions = {name: artifacts.load_predictions(name, root) for name in names}
    found_audit = _optional(lambda: artifacts.load_audit(root), "audit", absent)
    clean_metrics = None
    if found_audit:  # as the pages' loaders.subset_metrics
        from core.evaluation.evaluate import metrics_from_predictions  # scikit-learn: only where it is needed

        clean = set(subsets.clean_test_paths(found_audit))
        clean_metrics = {
            name: metrics_from_predictions(paired.restrict(table, clean))
            for name, table in predictions.items()
        }
    return Found(
        root=root,
        names=names,
        titles=titles or {name: config.display_name for name, config in configs.items()},
        short_names={name: entry.short_name for name, entry in architectures.items()},
        colors={name: entry.color for name, entry in architectures.items()},
        controls=frozenset(name for name, entry in architectures.items() if entry.control),
        metrics={name: artifacts.load_metrics(name, root) for name in names},
        manifests={name: artifacts.load_manifest(name, root) for name in names},
        predictions=predictions,
        clean_metrics=clean_metrics,
        runs=_optional(
            lambda: {name: artifacts.load_run_predictions(name, root) for name in names[:2]}, "runs", absent
        ),
        audit=found_audit,
        provenance=_optional(lambda: artifacts.load_provenance(root), "provenance", absent),
        crosssource=crosssource,
        localisation=scored[0] if scored else None,
        benchmark=_optional(lambda: artifacts.load_benchmark(root), "benchmark", absent),
        absent=absent,
    )


def subset_metrics(found: Found, subset: str) -> dict[str, dict] | None:
    """Each model's classification metrics on the full test set or the clean subset (None: no audit)."""
    return found.metrics if subset == subsets.FULL else found.clean_metrics


# --- HTML pieces ---------------------------------------------------------------------------------


def markdown(text: str) -> str:
    """The little Markdown the core sentences use (**bold**, *italic*, `code`) as HTML, escaped."""
    shown = html.escape(text, quote=False)
    shown = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", shown)
    shown = re.sub(r"\*(.+?)\*", r"<em>\1</em>", shown)
    return re.sub(r"`(.+?)`", r"<code>\1</code>", shown)


def _p(text: str, kind: str | None = None) -> str:
    return f'<p class="{kind}">{markdown(text)}</p>' if kind else f"<p>{markdown(text)}</p>"


def _absent(what: str, why: str) -> str:
    return f'<p class="absent">{html.escape(what)} is not in this report: {markdown(why)}</p>'


def _title_case(column: str) -> str:
    """A column's title: "Test images" for "test images"; a unit stays as written ("ms / image")."""
    return column if column.startswith(UNITS) else column[:1].upper() + column[1:]


def _percent(value: Any) -> str:
    return MISSING if value is None or pd.isna(value) else f"{value:.1%}"


def _count(value: Any) -> str:
    return MISSING if value is None or pd.isna(value) else f"{int(value):,}"


def table(
    frame: pd.DataFrame,
    percent: Iterable[str] = (),
    counts: Iterable[str] = (),
    formats: dict[str, Callable[[Any], str]] | None = None,
) -> str:
    """A table as HTML: percentages as "94.1%", counts as "1,311", columns titled, cells escaped.

    Args:
        percent / counts: the columns shown as percentages / as whole numbers.
        formats: column -> how to show each of its values, for any other column.
    """
    shown = frame.copy()
    chosen = dict.fromkeys(percent, _percent) | dict.fromkeys(counts, _count) | (formats or {})
    for column, show in chosen.items():
        if column in shown:
            shown[column] = shown[column].map(show).astype(object)
    shown = shown.rename(columns=_title_case)
    shown.columns.name = None  # a pivot's "metric" would add a header row
    body = shown.to_html(index=False, border=0, na_rep=MISSING, escape=True, classes="table")
    return f'<div class="table-wrap">{body}</div>'


class _Figures:
    """Turns figures into HTML, embedding plotly.js with the first one only."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, figure: go.Figure, heading: str = "") -> str:
        div = figure.to_html(full_html=False, include_plotlyjs=self.count == 0, config=PLOTLY_CONFIG)
        self.count += 1
        title = f"<h4>{markdown(heading)}</h4>" if heading else ""
        return f'<div class="figure">{title}{div}</div>'


def _section(anchor: str, heading: str, parts: Iterable[str]) -> str:
    return f'<section id="{anchor}"><h2>{html.escape(heading)}</h2>\n' + "\n".join(parts) + "</section>"


# --- sections ------------------------------------------------------------------------------------


def _header(found: Found, generated: datetime) -> str:
    n = found.n_images
    compared = ", ".join(found.titles[name] for name in found.names)
    root = found.root.resolve()
    shown = root.relative_to(paths.ROOT) if root.is_relative_to(paths.ROOT) else root
    return (
        f"<header><h1>{html.escape(TITLE)}</h1>"
        f'<p class="muted">Generated {generated:%Y-%m-%d %H:%M} from '
        f"<code>{html.escape(str(shown))}</code>. "
        f"Models compared: {html.escape(compared)}. Test set: {n:,} images of "
        f"{html.escape(release.describe(n))} ({len(CLASS_NAMES)} classes: "
        f"{html.escape(', '.join(CLASS_TITLES[c].lower() for c in CLASS_NAMES))}).</p></header>"
    )


def verdict_section(found: Found) -> list[str]:
    """The verdict box: headline, sentence and table (core.evaluation.verdict), and the held-out line."""
    if len(found.names) < 2:
        return [
            _absent("The verdict", f"it compares two models, and the artifacts hold one ({found.names[0]}).")
        ]
    try:
        compare.check_same_test_set(found.metrics)
        joined = compare.joined_predictions(found.predictions)
    except ValueError as error:
        return [_absent("The verdict", str(error))]
    found_verdict = verdict.build(joined, found.names, found.clean_paths, found.runs)
    parts = [
        f"<h3>{markdown(verdict.headline(found_verdict, found.titles))}</h3>",
        _p(verdict.sentence(found_verdict, found.titles)),
        table(
            verdict.table(found_verdict, found.titles),
            percent=[found.titles[name] for name in found_verdict.names],
            counts=["images"],
        ),
    ]
    if summary := found.crosssource.get(artifacts.CURRENT_RECIPE):
        pair = {name: found.titles[name] for name in found_verdict.names}
        parts.append(_p(generalisation.recall_line(summary, pair), "caption"))
    if found.audit is None:
        parts.append(_absent("The clean subset", found.absent["audit"]))
    return ['<div class="verdict">', *parts, "</div>"]


def _headlines(found: Found, subset: str) -> dict[str, compare.Headline] | None:
    benchmark = (found.benchmark or {}).get("models", {})
    chosen = subset_metrics(found, subset)
    if chosen is None:
        return None
    return {
        name: compare.headline(found.metrics[name] | chosen[name], found.manifests[name], benchmark.get(name))
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
            parts.append(_absent(f"The {subset.lower()}", found.absent.get("audit", "no audit")))
            continue
        parts += [
            f"<h3>{html.escape(subset)}</h3>",
            table(_cards_table(found, headlines)),
        ]
        # The reading's advice on the full test set is the sidebar's switch: here, the next table.
        if subset == subsets.CLEAN or found.audit is None:
            parts.append(_p(compare.cards_sentence(headlines, found.titles, clean=subset == subsets.CLEAN)))
    parts.append(
        _p(
            "In brackets: the model minus the one it is compared with. Inference: median batch-1 latency "
            "through LiteRT on the machine that ran the benchmark."
            + (
                "" if found.benchmark else " No benchmark in the artifacts: `python -m benchmarks.inference`."
            ),
            "caption",
        )
    )
    full = _headlines(found, subsets.FULL)
    reference = compare.reference_table(full, found.titles, found.n_images, PUBLISHED_MOBILENETV2)
    parts += [
        "<h3>Against the published figures</h3>",
        table(
            reference,
            percent=["accuracy", "macro F1"],
            counts=["test images", "parameters"],
            formats={column: "{:.1f}".format for column in ("file size (MB)", "ms / image")},
        ),
        _p(
            f"Always on the full test set of {release.describe(found.n_images)}, the one the published "
            "figures use. Published rows are quoted, not reproduced.",
            "caption",
        ),
    ]
    return parts


def per_class_section(found: Found, figure: _Figures) -> list[str]:
    """Precision, recall and F1 per class and model, with images per class, on each test set."""
    parts = []
    colors = {found.titles[name]: found.colors[name] for name in found.names}
    for subset in (subsets.FULL, subsets.CLEAN):
        chosen = subset_metrics(found, subset)
        if chosen is None:
            parts.append(_absent(f"The {subset.lower()}", found.absent.get("audit", "no audit")))
            continue
        long = compare.per_class_table(chosen, found.titles)
        wide = compare.per_class_wide(long)
        supports = next(iter(chosen.values()))["per_class"]
        wide.insert(
            1, "images", wide["class"].map({CLASS_TITLES[c]: s["support"] for c, s in supports.items()})
        )
        n = sum(s["support"] for s in supports.values())
        parts += [
            f"<h3>{html.escape(subset)} ({n:,} images)</h3>",
            figure(per_class_bars(long, colors)),
            table(wide, percent=["precision", "recall", "f1"], counts=["images"]),
        ]
    return parts


def confusion_section(found: Found, figure: _Figures) -> list[str]:
    """Each model's confusion matrix (counts) on the full test set and on the clean subset."""
    parts = [
        _p("Rows: true class. Columns: predicted class. Cells: images; shade: share of the row.", "caption")
    ]
    for subset in (subsets.FULL, subsets.CLEAN):
        chosen = subset_metrics(found, subset)
        if chosen is None:
            parts.append(_absent(f"The {subset.lower()}", found.absent.get("audit", "no audit")))
            continue
        cells = [
            figure(
                confusion_figure(metrics["confusion_matrix"], normalize=False, color=found.colors[name]),
                f"**{found.titles[name]}**",
            )
            for name, metrics in chosen.items()
        ]
        parts += [f"<h3>{html.escape(subset)}</h3>", '<div class="grid">', *cells, "</div>"]
    return parts


def leakage_section(found: Found) -> list[str]:
    """The leakage audit: duplicates between and within the splits, each model on the clean subset."""
    if found.audit is None:
        return [_absent("The leakage audit", found.absent["audit"])]
    result, summary = found.audit, subsets.AuditSummary.from_json(found.audit)
    counts = pd.DataFrame(
        [
            {"test images": label, "images": count, "share": summary.share(count)}
            for label, count in {"All": summary.test_images, **summary.parts}.items()
        ]
    )
    training, testing = result["within"][TRAIN_SPLIT], result["within"][TEST_SPLIT]
    method = result["method"]
    parts = [
        _p(audit.WHY),
        table(counts, percent=["share"], counts=["images"]),
        "<h3>Each model on the clean subset</h3>",
        table(
            audit.subset_metrics(found.predictions, result, found.titles),
            percent=["accuracy", "macro F1"],
            counts=["images"],
        ),
        "<h3>Per class</h3>",
        table(
            audit.per_class_table(result),
            counts=["test images", "same file in Training", "near duplicate in Training"],
        ),
        _p(
            f"Duplicates inside a split: **{training['near_pairs']:,}** near-duplicate pairs in Training "
            f"({training['exact_pairs']:,} identical files), **{testing['near_pairs']:,}** in Testing "
            f"({testing['exact_pairs']:,} identical). Pairs whose labels disagree: "
            f"**{summary.conflicts_between}** between the splits, **{summary.conflicts_within}** within."
        ),
        _p(f"Exact: {method['exact']}. Near: {method['near']}, at most {method['threshold']}.", "caption"),
    ]
    if (leak := audit.validation_leak_table(result)) is not None:
        parts += [
            "<h3>The validation split</h3>",
            table(
                leak,
                percent=["share"],
                counts=["validation images", "with a near duplicate in the fitted part"],
            ),
        ]
    conflicts = "".join(f"<li><code>{html.escape(path)}</code></li>" for path in provenance.LABEL_CONFLICTS)
    parts += [
        "<h3>Labels the collections disagree on</h3>",
        _p(
            f"{len(provenance.LABEL_CONFLICTS)} slices of the figshare collection, labelled *meningioma* "
            "there, are filed under *pituitary* in the Kaggle release:"
        ),
        f"<ul>{conflicts}</ul>",
        _p(
            "The image pairs themselves are on the dashboard's Leakage audit page (it needs the dataset).",
            "caption",
        ),
    ]
    return parts


def _crosssource_parts(found: Found, recipe: str, summary: dict, figure: _Figures) -> list[str]:
    short = found.short_names
    current = recipe == artifacts.CURRENT_RECIPE
    heading = "Shipped recipe" if current else f"Tried: {recipe.replace('-', ' ')}"
    parts = [
        f"<h3>{html.escape(heading)}</h3>",
        _p(
            "Each model trained without one collection's images, then tested on all of them. "
            f"{summary.get('note') or model_card.recipe_sentence(summary)}"
        ),
        table(
            generalisation.crosssource_table(summary, short),
            counts=["Held-out images", "Training images", "Pasted-lesion slices"],
        ),
    ]
    if not current:
        return parts
    parts.append(
        _p(
            f"A short schedule, the same for every model: at most {summary['short_epochs']} epochs a phase, "
            f"MobileNetV2 fine-tuned on {summary['short_copies']} cached augmented copies; 95% bootstrap "
            "intervals.",
            "caption",
        )
    )
    for fold, entry in summary["folds"].items():
        cells = [
            figure(
                confusion_figure(
                    result["confusion"], normalize=False, color=found.colors.get(name, "#6b7280")
                ),
                f"**{short.get(name, name)}** on the held-out {fold} images",
            )
            for name, result in entry["models"].items()
        ]
        parts += ['<div class="grid">', *cells, "</div>"]
    warnings = generalisation.warnings_table(summary, short)
    parts.append("<h4>Warnings on a collection the model has not seen</h4>")
    if warnings.empty:
        parts.append(
            _absent(
                "The warning rules",
                "these results predate them (`python -m core crosssource --warnings-only`).",
            )
        )
    else:
        parts += [
            table(warnings, counts=["Tumours called no tumor"]),
            _p(
                "Each cell: caught (false alarms). Target: at least 80% caught, at most 2% false alarms.",
                "caption",
            ),
        ]
    return parts


def generalisation_section(found: Found, figure: _Figures) -> list[str]:
    """Per source, leave one source out (with its confusion matrices) and localisation."""
    compared = [name for name in found.names if name not in found.controls]
    short = found.short_names
    parts = ["<h3>Where the images come from</h3>"]
    if found.provenance is None:
        parts.append(_absent("The source table", found.absent["provenance"]))
    else:
        parts += [
            table(generalisation.source_counts(found.provenance), counts=[*CLASS_TITLES.values(), "Images"]),
            _p(generalisation.inference_sentence(found.provenance).strip(), "caption"),
        ]
        for subset in (subsets.FULL, subsets.CLEAN):
            if subset == subsets.CLEAN and found.clean_paths is None:
                continue
            chosen = found.clean_paths if subset == subsets.CLEAN else None
            predictions = {name: paired.restrict(found.predictions[name], chosen) for name in compared}
            parts += [
                f"<h4>Each model per source, {html.escape(subset.lower())}</h4>",
                table(
                    generalisation.per_source(predictions, found.provenance["test_sources"], short),
                    counts=["Images"],
                ),
            ]
    parts.append("<h3>Leave one source out</h3>")
    if not found.crosssource:
        parts.append(
            _absent("Leave one source out", found.absent.get(artifacts.CURRENT_RECIPE, "no results"))
        )
    for recipe, summary in found.crosssource.items():
        parts += _crosssource_parts(found, recipe, summary, figure)
    parts.append("<h3>Where the models look, against the tumour boxes</h3>")
    if found.localisation is None:
        parts.append(_absent("Localisation", found.absent["localisation"]))
    else:
        parts += _localisation_parts(found)
    return parts


def _localisation_parts(found: Found) -> list[str]:
    summary = found.localisation
    parts = [
        _p(
            "Each model's map for the true class on the test images with a tumour box (the figshare "
            f"slices): **pointing game**, the map's peak in the box grown by {summary['grow']:.0%} of the "
            "image side on every edge (a random peak lands there about 11% of the time); **mass in box**, "
            f"the share of the map inside the box; **IoU**, the box against the map above "
            f"{summary['threshold']:.0%} of its maximum. 95% bootstrap intervals."
        )
    ]
    for subset, heading in ((localisation.FULL, subsets.FULL), (localisation.CLEAN, subsets.CLEAN)):
        if subset not in summary["images"]:
            continue
        sentences = [
            localisation.paired_sentence(summary, subset, method, found.titles)
            for method in summary["paired"]
        ]
        parts += [
            f"<h4>{html.escape(heading)} ({summary['images'][subset]:,} boxed images)</h4>",
            table(localisation.scores_table(summary, subset, found.titles)),
            *(_p(sentence, "caption") for sentence in sentences if sentence),
        ]
    return parts


def model_card_section(found: Found) -> list[str]:
    """The model card: the training collections, how the models fare beyond them, what not to use them for."""
    coverage = "".join(
        f"<li><strong>{html.escape(source)}</strong>: {markdown(covers)}</li>"
        for source, covers in provenance.COVERAGE.items()
    )
    parts = [
        f"<p><strong>Training data.</strong> {markdown(model_card.TRAINING_DATA)}</p>",
        f"<ul>{coverage}</ul>",
    ]
    if summary := found.crosssource.get(artifacts.CURRENT_RECIPE):
        line = generalisation.recall_line(summary, found.titles)
        parts.append(f"<p><strong>Beyond the training collections.</strong> {markdown(line)}</p>")
        parts.append(_p(summary.get("note") or model_card.recipe_sentence(summary)))
    else:
        parts.append(
            _absent("Leave one source out", found.absent.get(artifacts.CURRENT_RECIPE, "no results"))
        )
    not_for = "".join(f"<li>{markdown(item)}</li>" for item in model_card.NOT_FOR)
    parts.append(f"<p><strong>Not for:</strong></p><ul>{not_for}</ul>")
    return parts


SECTIONS = (  # anchor, heading
    ("verdict", "Verdict"),
    ("headline", "Each model"),
    ("per-class", "Per class"),
    ("confusion", "Confusion matrices"),
    ("leakage", "Leakage audit"),
    ("generalisation", "Generalisation"),
    ("model-card", "Model card"),
)


def build(
    root: Path | None = None, titles: dict[str, str] | None = None, generated: datetime | None = None
) -> str:
    """The report as one HTML document that opens offline.

    Args:
        root: the artifacts folder (default: paths.artifacts_dir()).
        titles: model name -> title to show; default each model's display name.
        generated: the time the header shows (default: now).

    Raises:
        ArtifactError: there is no trained model, or one of its files is missing or damaged.
    """
    found = gather(root, titles)
    figure = _Figures()  # sections are built in reading order: plotly.js goes in with the first figure
    bodies = {
        "verdict": verdict_section(found),
        "headline": headline_section(found),
        "per-class": per_class_section(found, figure),
        "confusion": confusion_section(found, figure),
        "leakage": leakage_section(found),
        "generalisation": generalisation_section(found, figure),
        "model-card": model_card_section(found),
    }
    contents = "".join(
        f'<li><a href="#{anchor}">{html.escape(heading)}</a></li>' for anchor, heading in SECTIONS
    )
    sections = "\n".join(_section(anchor, heading, bodies[anchor]) for anchor, heading in SECTIONS)
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(TITLE)}</title><style>{CSS}</style></head><body>\n"
        f"{_header(found, generated or datetime.now().astimezone())}\n"
        f"<nav><ol>{contents}</ol></nav>\n{sections}\n{RELAYOUT}</body></html>\n"
    )


def main(argv: list[str] | None = None) -> None:
    parser = cli.parser(__doc__.splitlines()[0], models=False, data=False)
    parser.add_argument("--out", default=FILE_NAME, help=f"the HTML file to write (default: {FILE_NAME})")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    text = build(Path(args.artifacts))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    print(f"Wrote {out} ({len(text.encode()):,} bytes)")


if __name__ == "__main__":
    cli.run(main)
