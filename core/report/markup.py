"""The report's HTML pieces: its style sheet, the little Markdown of the core sentences, paragraphs,
tables, figures and sections. Text is escaped here, so the section renderers never write raw HTML
from an artifact.
"""

import html
import re
from collections.abc import Callable, Iterable
from typing import Any

import pandas as pd
import plotly.graph_objects as go

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


def markdown(text: str) -> str:
    """The little Markdown the core sentences use (**bold**, *italic*, `code`) as HTML, escaped."""
    shown = html.escape(text, quote=False)
    shown = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", shown)
    shown = re.sub(r"\*(.+?)\*", r"<em>\1</em>", shown)
    return re.sub(r"`(.+?)`", r"<code>\1</code>", shown)


def paragraph(text: str, kind: str | None = None) -> str:
    """A paragraph of Markdown; `kind` is its CSS class ("caption" for the small grey ones)."""
    return f'<p class="{kind}">{markdown(text)}</p>' if kind else f"<p>{markdown(text)}</p>"


def absent(what: str, why: str) -> str:
    """The note that stands where a part of the report could not be drawn, and why."""
    return f'<p class="absent">{html.escape(what)} is not in this report: {markdown(why)}</p>'


def heading(level: int, text: str) -> str:
    """A heading inside a section (level 3 or 4: the sections themselves are level 2), escaped."""
    return f"<h{level}>{html.escape(text)}</h{level}>"


def bullets(items: Iterable[str]) -> str:
    """A list of Markdown items."""
    return "<ul>" + "".join(f"<li>{markdown(item)}</li>" for item in items) + "</ul>"


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


class Figures:
    """Turns figures into HTML, embedding plotly.js with the first one only."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, figure: go.Figure, heading: str = "") -> str:
        div = figure.to_html(full_html=False, include_plotlyjs=self.count == 0, config=PLOTLY_CONFIG)
        self.count += 1
        title = f"<h4>{markdown(heading)}</h4>" if heading else ""
        return f'<div class="figure">{title}{div}</div>'


def section(anchor: str, heading: str, parts: Iterable[str]) -> str:
    """One of the report's numbered sections: its anchor, its heading and its parts in order."""
    return f'<section id="{anchor}"><h2>{html.escape(heading)}</h2>\n' + "\n".join(parts) + "</section>"
