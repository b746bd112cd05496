"""core.report.document: the self-contained HTML report, on the shipped artifacts and on partial ones."""

import re
import shutil
from datetime import datetime

import pandas as pd
import pytest
from plotly.offline import get_plotlyjs

from core import artifacts, cli
from core.data import subsets
from core.data.dataset import CLASS_TITLES
from core.evaluation import compare, verdict
from core.report import document, generalisation, model_card, reference
from core.studies import audit, localisation

PLOTLY_BUNDLE = get_plotlyjs()[:200]  # the start of plotly.js: its licence header and version


@pytest.fixture(scope="module")
def shipped() -> str:
    return document.build(generated=datetime(2025, 1, 2, 3, 4))


def _shipped_verdict() -> tuple[verdict.Verdict, dict[str, str]]:
    names = artifacts.available_models()
    titles = {name: artifacts.load_config(name).display_name for name in names}
    joined = compare.joined_predictions({name: artifacts.load_predictions(name) for name in names})
    clean = frozenset(subsets.clean_test_paths(artifacts.load_audit()))
    runs = {name: artifacts.load_run_predictions(name) for name in names[:2]}
    return verdict.build(joined, names, clean, runs), titles


def _figures(text: str) -> int:
    return text.count('class="plotly-graph-div"')


def _copy_models(root, names: list[str]):
    """An artifacts folder holding only these models' folders: no audit, sources or other results."""
    for name in names:
        shutil.copytree(
            artifacts.model_dir(name),
            root / name,
            ignore=shutil.ignore_patterns("*.tflite", artifacts.RUNS_DIR),
        )
    return root


def test_the_report_holds_the_verdict_each_model_and_the_date(shipped):
    found, titles = _shipped_verdict()
    assert document.markdown(verdict.sentence(found, titles)) in shipped
    assert verdict.headline(found, titles) in shipped
    assert "<strong>" in document.markdown(verdict.sentence(found, titles))  # the bold survives
    for title in titles.values():
        assert title in shipped
    assert "Generated 2025-01-02 03:04" in shipped
    assert "the 7,023-image release" in shipped or "an unrecognised release" in shipped


def test_plotly_js_is_embedded_once_and_each_figure_gets_a_div(shipped):
    assert shipped.count(PLOTLY_BUNDLE) == 1
    assert 'src="http' not in shipped  # nothing to fetch: it opens offline
    n_models = len(artifacts.available_models())
    current = artifacts.load_crosssource()
    crosssource = sum(len(fold.models) for fold in current.folds.values())
    # both axes, per class bars (full, clean), a confusion matrix per model (full, clean), one per fold model
    assert _figures(shipped) == 1 + 2 + 2 * n_models + crosssource
    assert shipped.index(PLOTLY_BUNDLE) < shipped.index("Plotly.newPlot")


def test_per_class_tables_give_each_class_its_image_count_on_both_test_sets(shipped):
    metrics = artifacts.load_metrics(artifacts.available_models()[0])
    clean = set(subsets.clean_test_paths(artifacts.load_audit()))
    table = artifacts.load_predictions(artifacts.available_models()[0])
    clean_counts = table[table["path"].isin(clean)]["true_label"].value_counts()
    for name, scores in metrics.per_class.items():
        for count in (scores.support, clean_counts[name]):
            assert re.search(rf"<td>{CLASS_TITLES[name]}</td>\s*<td>{count:,}</td>", shipped)
    assert "<th>Precision</th>" in shipped and "<th>F1</th>" in shipped
    assert f"Full test set ({metrics.n_images:,} images)" in shipped
    assert f"Clean subset ({len(clean):,} images)" in shipped


def test_every_section_is_there_with_its_tables(shipped):
    for anchor, heading in document.SECTIONS:
        assert f'<section id="{anchor}"><h2>{heading}</h2>' in shipped
    for text in (
        "Near duplicate, not the same file",  # the audit's counts
        "Each model per source",  # generalisation.per_source
        "Tumour recall (and accuracy) on a collection held out of training",  # generalisation.recall_line
        "Tumours called no tumor",  # generalisation.warnings_table
        "Pointing game",  # localisation.scores_table
        "Not for:",  # the model card
        "Recipe: every image decoded in grey",
    ):
        assert text in shipped
    assert "is not in this report" not in shipped
    for name in artifacts.available_models():  # every figure under a model's title, never its name
        assert not re.search(rf"\b{name} \d", shipped), name


def test_the_report_says_what_the_pages_say(shipped):
    """The sentences a page and the report share come from one core function each."""
    found, current = artifacts.load_audit(), artifacts.load_crosssource()
    scored, _ = artifacts.load_localisation()
    for sentence in (
        audit.within_sentence(found),
        audit.method_sentence(found),
        audit.LABEL_CONFLICTS_SENTENCE,
        generalisation.crosssource_sentence(current),
        generalisation.schedule_caption(current),
        generalisation.WARNINGS_CAPTION,
        localisation.scores_sentence(scored),
        model_card.TRAINING_DATA,
        model_card.NOT_FOR_HEADING,
        reference.caption(artifacts.load_metrics(artifacts.available_models()[0]).n_images),
    ):
        assert document.markdown(sentence) in shipped
    headings = (
        audit.CLEAN_SUBSET_HEADING,
        generalisation.SOURCES_HEADING,
        localisation.HEADING,
        reference.HEADING,
    )
    for heading in headings:
        assert f"<h3>{heading}</h3>" in shipped


def test_text_from_the_artifacts_is_escaped():
    names = artifacts.available_models()
    titles = {name: f"<script>alert('{name}')</script>" for name in names}
    text = document.build(titles=titles)
    assert "<script>alert(" not in text
    assert "&lt;script&gt;alert(" in text


@pytest.mark.parametrize(
    ("markdown", "html"),
    [
        ("**A** wins", "<strong>A</strong> wins"),
        ("or *no tumor*", "or <em>no tumor</em>"),
        ("run `python -m core audit`", "run <code>python -m core audit</code>"),
        ("a < b & **c**", "a &lt; b &amp; <strong>c</strong>"),
    ],
)
def test_markdown_becomes_escaped_html(markdown, html):
    assert document.markdown(markdown) == html


def test_tables_show_percentages_counts_and_titled_columns():
    frame = pd.DataFrame(
        {
            "model": ["<b>A</b>"],
            "images": [1311],
            "accuracy": [0.9412],
            "macro F1": [None],
            "ms / image": [1.5],
        }
    )
    text = document.table(frame, percent=["accuracy", "macro F1"], counts=["images"])
    for cell in ("<td>1,311</td>", "<td>94.1%</td>", f"<td>{document.MISSING}</td>", "&lt;b&gt;A"):
        assert cell in text
    for header in ("<th>Model</th>", "<th>Accuracy</th>", "<th>Macro F1</th>", "<th>ms / image</th>"):
        assert header in text


def test_without_the_dataset_wide_artifacts_the_report_says_what_is_absent(tmp_path):
    names = artifacts.available_models()[:2]
    root = _copy_models(tmp_path / "artifacts", names)
    text = document.build(root)
    for command in (
        "python -m core audit",
        "python -m core sources",
        "python -m core crosssource",
    ):
        assert command in text
    assert "The leakage audit is not in this report" in text
    assert "The clean subset is not in this report" in text
    assert "Localisation is not in this report" in text
    assert "on the full test set" in text and "McNemar" in text  # the verdict, on the full test set
    assert "<h3>Clean subset</h3>" not in text
    assert text.count(PLOTLY_BUNDLE) == 1
    assert _figures(text) == 1 + len(names)  # the per-class bars and a confusion matrix per model
    assert "Not for:" in text


def test_one_model_alone_renders_without_a_verdict(tmp_path):
    name = artifacts.available_models()[0]
    text = document.build(_copy_models(tmp_path / "artifacts", [name]))
    assert "The verdict is not in this report: it compares two models" in text
    assert _figures(text) == 2


def test_the_cli_writes_the_report(tmp_path):
    root = _copy_models(tmp_path / "artifacts", artifacts.available_models()[:1])
    out = tmp_path / "out" / "report.html"
    document.main(["--out", str(out), "--artifacts", str(root)])
    text = out.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") and text.count(PLOTLY_BUNDLE) == 1


def test_the_cli_without_models_ends_with_one_line(tmp_path):
    with pytest.raises(SystemExit, match="no trained model"):
        cli.run(lambda: document.main(["--out", str(tmp_path / "r.html"), "--artifacts", str(tmp_path)]))
    assert not (tmp_path / "r.html").exists()


def test_the_report_says_what_the_warnings_catch_as_the_page_does(shipped):
    from core.report import external

    assert document.markdown(external.warnings_sentence(artifacts.load_warnings())) in shipped
