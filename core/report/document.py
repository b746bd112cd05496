"""The whole comparison as one self-contained HTML file, to read offline or attach to a review.

CLI: python -m core report --out report.html [--artifacts DIR]

Everything comes from the artifacts (core.artifacts, read once by core.report.found) through the core
functions the pages call: the verdict (core.evaluation.verdict), each model's headline and per-class
figures (core.evaluation.compare), the confusion matrices (core.report.figures), the leakage audit
(core.studies.audit), generalisation (core.report.generalisation, core.studies.localisation) and the
model card (core.report.model_card). core.report.sections and core.report.study_sections draw the
sections, core.report.markup their HTML. Plotly's JavaScript is embedded once, so the figures draw
without a network. A missing or damaged optional artifact (the audit, the sources, leave one source
out, localisation, the benchmark) leaves its section saying so; the rest still renders.
"""

import html
import sys
from datetime import datetime
from pathlib import Path

from core import cli, paths, report
from core.data import release
from core.data.dataset import CLASS_NAMES, CLASS_TITLES
from core.report.found import Found, gather
from core.report.markup import CSS, MISSING, RELAYOUT, Figures, markdown, section, table
from core.report.sections import confusion_section, headline_section, per_class_section, verdict_section
from core.report.study_sections import generalisation_section, leakage_section, model_card_section

# Other code and the tests reach the report's pieces through this module.
__all__ = ["FILE_NAME", "MISSING", "SECTIONS", "Found", "build", "gather", "main", "markdown", "table"]

FILE_NAME = report.FILE_NAME
TITLE = "Brain tumour MRI: transfer learning vs training from scratch"


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
    figure = Figures()  # sections are built in reading order: plotly.js goes in with the first figure
    bodies = {
        "verdict": verdict_section(found, figure),
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
    sections = "\n".join(section(anchor, heading, bodies[anchor]) for anchor, heading in SECTIONS)
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
