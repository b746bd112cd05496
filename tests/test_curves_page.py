"""The ROC & operating points page rendered with AppTest on the shipped artifacts."""

import re

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from core import artifacts, paths
from core.data import subsets
from core.data.dataset import CLASS_NAMES
from core.evaluation import calibration, curves
from core.models.registry import CUSTOM_CNN

PAGE = "pages/curves.py"
TIMEOUT = 120
COUNTED_RATE = re.compile(r"^\d+\.\d% \([\d,]+ of [\d,]+\)$")  # "94.1% (380 of 404)"


def open_page(subset: str | None = None) -> AppTest:
    """The page through streamlit_app.py, as tests/test_app.py opens every page."""
    app = AppTest.from_file(str(paths.ROOT / "streamlit_app.py"), default_timeout=TIMEOUT)
    if subset is not None:
        app.session_state["test_subset"] = subset
    app.run()
    app.switch_page(PAGE).run()
    assert not app.exception, [e.message for e in app.exception]
    return app


def table(app: AppTest, column: str):
    """The first table on the page with `column`."""
    return next(frame.value for frame in app.dataframe if column in frame.value.columns)


@pytest.fixture(scope="module")
def app() -> AppTest:
    return open_page()


def test_page_shows_the_auc_of_every_class_and_model_with_image_counts(app):
    assert app.title[0].value == "ROC and operating points"
    aucs = table(app, "ROC AUC")
    names = artifacts.available_models()
    assert len(aucs) == len(CLASS_NAMES) * len(names)
    assert aucs["ROC AUC"].between(0.5, 1.0).all()
    test_images = artifacts.load_metrics(names[0]).n_images
    assert (aucs["positives"] + aucs["negatives"] == test_images).all()
    n_notumor = artifacts.load_metrics(names[0]).per_class["notumor"].support
    assert (aucs.loc[aucs["class"] == "No tumor", "positives"] == n_notumor).all()
    assert len(app.get("plotly_chart")) == 3  # ROC, precision-recall, coverage


def test_moving_the_referral_threshold_changes_coverage_and_shows_counts(app):
    app.radio(key="curves_mode").set_value("Refer when confidence < t").run()
    before = table(app, "answered (coverage)").copy()
    assert before["answered (coverage)"].str.match(COUNTED_RATE).all()
    assert before["accuracy on answered"].str.match(COUNTED_RATE).all()
    app.slider(key="referral_threshold").set_value(0.99).run()
    assert not app.exception
    after = table(app, "answered (coverage)")
    assert (after["referred"] > before["referred"]).all()
    assert (after["answered (coverage)"] != before["answered (coverage)"]).all()


def test_tumour_threshold_trades_sensitivity_for_specificity(app):
    app.radio(key="curves_mode").set_value("Threshold on a class's probability").run()
    app.selectbox(key="curves_positive").set_value(curves.TUMOUR).run()
    low = table(app, "sensitivity").copy()
    assert (
        low["sensitivity"].str.match(COUNTED_RATE).all() and low["specificity"].str.match(COUNTED_RATE).all()
    )
    app.slider(key="class_threshold").set_value(0.01).run()
    assert not app.exception
    permissive = table(app, "sensitivity")
    assert (permissive["false alarms"] >= low["false alarms"]).all()
    assert (permissive["missed"] <= low["missed"]).all()
    assert (permissive["sensitivity"] != low["sensitivity"]).any()
    assert any("P(no tumor) ≤ 0.99" in markdown.value for markdown in app.markdown)


def test_clean_subset_counts_its_own_images():
    result = artifacts.load_audit()
    clean = set(subsets.clean_test_paths(result))
    app = open_page(subset=subsets.CLEAN)
    aucs = table(app, "ROC AUC")
    assert (aucs["positives"] + aucs["negatives"] == len(clean)).all()
    coverage = table(app, "answered (coverage)")
    assert coverage["answered (coverage)"].str.endswith(f"of {len(clean):,})").all()


def test_thresholds_apply_to_calibrated_probabilities_unless_raw_is_chosen(app):
    """At t = 0.5 on "no tumor", the under-confident custom CNN misses easy slices raw, not calibrated."""
    names = artifacts.available_models()
    app.radio(key="curves_mode").set_value("Threshold on a class's probability").run()
    app.selectbox(key="curves_positive").set_value("notumor").run()
    app.slider(key="class_threshold").set_value(0.5).run()
    assert app.segmented_control(key="curves_probabilities").value == "Calibrated"  # the default
    shown = table(app, "sensitivity").set_index("model")["missed"].copy()
    auc_calibrated = table(app, "ROC AUC")["ROC AUC"].copy()
    app.segmented_control(key="curves_probabilities").set_value("Raw").run()
    assert not app.exception
    raw = table(app, "sensitivity").set_index("model")["missed"]
    counted = {}
    for name in names:
        predictions = artifacts.load_predictions(name)
        temperature = calibration.validation_temperature(artifacts.load_predictions(name, split="validation"))
        for kind, scored in (
            ("raw", predictions),
            ("calibrated", calibration.scaled_table(predictions, temperature)),
        ):
            counted[kind, name] = curves.operating_point(scored, "notumor", 0.5).false_negatives
    titles = {name: artifacts.load_config(name).display_name for name in names}
    assert {name: shown[titles[name]] for name in names} == {
        name: counted["calibrated", name] for name in names
    }
    assert {name: raw[titles[name]] for name in names} == {name: counted["raw", name] for name in names}
    cnn = titles[CUSTOM_CNN.name]
    assert raw[cnn] > shown[cnn]  # under-confident: raw "no tumor" answers under 0.5
    np.testing.assert_allclose(table(app, "ROC AUC")["ROC AUC"], auc_calibrated, atol=0.005)  # barely moves
