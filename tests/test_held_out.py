"""Collections held out of training: the models' tumour recall differences per collection and the
tumours they miss, from fold predictions and the external set's answers."""

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from core import artifacts, paths
from core.report import held_out

TITLES = {"a": "Transfer", "b": "CNN", "c": "Control"}


def fold_table(found: list[bool], others: int = 2) -> pd.DataFrame:
    """A fold model's predictions: held-out gliomas found as listed, held-out no-tumour and
    in-source rows that must not count."""
    rows = [
        {
            "part": "held_out",
            "path": f"t{i}.jpg",
            "true_label": "glioma",
            "predicted_label": "glioma" if f else "notumor",
        }
        for i, f in enumerate(found)
    ]
    rows += [{"part": "held_out", "path": "n.jpg", "true_label": "notumor", "predicted_label": "glioma"}]
    rows += [
        {"part": "in_source", "path": f"s{i}.jpg", "true_label": "glioma", "predicted_label": "notumor"}
        for i in range(others)
    ]
    return pd.DataFrame(rows)


def test_a_fold_counts_only_its_held_out_tumours_and_the_difference_is_paired():
    fold = held_out.fold_tumours(
        "SARTAJ", {"a": fold_table([True] * 8 + [False] * 2), "b": fold_table([True] * 4 + [False] * 6)}
    )
    assert len(fold.found) == 10 and fold.rule == held_out.OWN_ANSWER
    external = held_out.external_tumours(
        pd.DataFrame({"file": ["x.png", "y.png"], "a_called": [True, True], "c_called": [False, True]}),
        ["a", "b", "c"],
    )
    assert list(external.found.columns) == ["path", "true_label", "a", "c"]  # b was not scored there
    diffs = held_out.differences([fold, external], [("a", "b"), ("a", "c")], TITLES)
    assert diffs[["collection", "comparison"]].values.tolist() == [
        ["SARTAJ", "Transfer minus CNN"],
        [held_out.EXTERNAL, "Transfer minus Control"],
    ]
    assert diffs["difference"].tolist() == pytest.approx([0.4, 0.5])
    assert diffs["low"].iloc[0] <= 0.4 <= diffs["high"].iloc[0]
    assert held_out.sentence(diffs, TITLES).startswith(
        "On every collection held out of training, **Transfer finds"
    )
    missed = held_out.missed(fold, TITLES)
    assert (
        len(missed) == 6
        and set(missed["Transfer"]) == {"found", "missed"}
        and set(missed["CNN"]) == {"missed"}
    )


def test_models_not_apart_everywhere_are_said_so():
    level = held_out.fold_tumours(
        "figshare", {"a": fold_table([True, False] * 5), "b": fold_table([False, True] * 5)}
    )
    diffs = held_out.differences([level], [("a", "b")], TITLES)
    assert diffs["difference"].iloc[0] == 0
    assert "are not apart on every collection" in held_out.sentence(diffs, TITLES)


def test_the_generalisation_page_leads_with_the_differences_and_lists_the_missed_tumours():
    app = AppTest.from_file(str(paths.ROOT / "streamlit_app.py"), default_timeout=120)
    app.run()
    app.switch_page("pages/generalisation.py").run()
    assert not app.exception, [e.message for e in app.exception]
    assert (
        "held out of training" in app.markdown[0].value and "95% paired bootstrap CI" in app.markdown[0].value
    )
    chart = app.get("plotly_chart")[0]
    assert "tumour recall difference" in chart.proto.spec
    choice = next(c for c in app.get("button_group") if "Missed tumours on" in c.proto.label)
    found, _ = artifacts.load_external()
    choice.set_value(held_out.EXTERNAL).run()
    caption = next(c.value for c in app.caption if "missed by at least one model" in c.value)
    assert caption.endswith(
        f"of {found.images:,} tumours missed by at least one model ({held_out.OPERATING_POINT})."
    )
