"""The external validation set: its statistics, the study's command, the artifact and the page."""

import json
import shutil

import numpy as np
import pandas as pd
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from conftest import make_scan
from core import artifacts, paths
from core.evaluation import stats
from core.records import ExternalModel, ExternalRun, ExternalSummary, Interval
from core.report import external
from core.studies import external as study

TIMEOUT = 120


def test_auc_is_the_chance_a_positive_outscores_a_negative():
    assert stats.auc(np.array([0.9, 0.8]), np.array([0.1, 0.2])) == 1.0
    assert stats.auc(np.array([0.1]), np.array([0.9])) == 0.0
    assert stats.auc(np.array([0.5, 0.9]), np.array([0.5, 0.1])) == pytest.approx(
        (0.5 + 1 + 1 + 1) / 4
    )  # tie: half
    interval = stats.auc_interval(np.linspace(0.3, 1, 40), np.linspace(0, 0.7, 60))
    assert interval.low <= interval.estimate <= interval.high < 1


def predictions(scores: list[float], label: str) -> pd.DataFrame:
    """A predictions table whose rows have P(tumour) = `scores`, all of class `label`."""
    notumor = 1 - np.asarray(scores)
    return pd.DataFrame(
        {
            "true_label": label,
            "prob_glioma": 1 - notumor,
            "prob_meningioma": 0.0,
            "prob_notumor": notumor,
            "prob_pituitary": 0.0,
        }
    )


def test_the_operating_point_keeps_the_validation_share_it_promises():
    validation = pd.concat(
        [predictions(list(np.linspace(0, 0.99, 100)), "notumor"), predictions([1.0], "glioma")]
    )
    threshold = study.operating_threshold(validation)
    kept = (study.tumour_scores(validation[validation["true_label"] == "notumor"]) <= threshold).mean()
    assert kept >= study.TARGET_SPECIFICITY and threshold == pytest.approx(0.97)  # the 98th of 100


def test_a_model_is_scored_at_its_own_answer_and_at_the_operating_point():
    validation = predictions([0.1] * 49 + [0.6], "notumor")  # 98% at or below 0.1
    test = predictions([0.05, 0.2, 0.08, 0.09], "notumor")
    external_scores = np.array([0.9, 0.5, 0.05, 0.3])
    own = np.array([True, False, False, False])  # the model's own answer finds one of four
    figures = study.score_model(external_scores, own, validation, test)
    assert figures["threshold"] == pytest.approx(0.1) and figures["validation_specificity"] == 0.98
    assert figures["recall_own"]["estimate"] == 0.25
    assert figures["recall"]["estimate"] == 0.75  # 0.9, 0.5 and 0.3 are above 0.1
    assert figures["specificity"]["estimate"] == 0.75  # 0.2 is above it
    assert figures["auc"]["estimate"] == pytest.approx(
        stats.auc(external_scores, test["prob_glioma"].to_numpy())
    )


def summary(recalls: dict[str, float], runs: dict[str, list[float]] | None = None) -> ExternalSummary:
    """The served runs' `recalls`, and where `runs` names a model, its runs' recalls (seeds 42...)."""

    def point(value: float) -> Interval:
        return Interval(value, value, value)

    def scored(name: str) -> dict[int, ExternalRun]:
        return {42 + i: ExternalRun(0.5, r, r, 0.99, 0.9) for i, r in enumerate((runs or {}).get(name, []))}

    models = {
        name: ExternalModel(0.5, 0.98, point(recall), point(recall), point(0.99), point(0.9), scored(name))
        for name, recall in recalls.items()
    }
    return ExternalSummary(10, (), 405, 0.98, models)


def test_the_two_axes_say_what_pretraining_and_the_architecture_buy():
    titles = {"mobilenetv2": "Transfer", "custom_cnn": "CNN", "mobilenetv2_scratch": "Control"}
    found = summary({"mobilenetv2": 0.8, "custom_cnn": 0.4, "mobilenetv2_scratch": 0.6})
    in_source = {"mobilenetv2": 0.95, "custom_cnn": 0.96, "mobilenetv2_scratch": 0.94}
    text = external.axes_sentence(in_source, "the clean subset", found, titles, same_recipe=True)
    assert "(Transfer minus Control): +1.0 points of accuracy on the clean subset, +20 points" in text
    assert "(Control minus CNN): -2.0 points of accuracy on the clean subset, +20 points" in text
    assert "not been retrained" not in text
    assert "not been retrained" in external.axes_sentence(in_source, "x", found, titles, same_recipe=False)
    two = {name: in_source[name] for name in ("mobilenetv2", "custom_cnn")}
    assert external.axes_sentence(two, "x", found, titles, True) == ""  # no control: nothing to say
    assert "Transfer 80% (AUC 0.90), CNN 40%" in external.line(found, titles)
    # over seeds: the served run's 80% is one of three runs averaging 70%
    seeded = summary(
        {"mobilenetv2": 0.8, "custom_cnn": 0.4, "mobilenetv2_scratch": 0.6}, {"mobilenetv2": [0.8, 0.6, 0.7]}
    )
    text = external.axes_sentence(in_source, "x", seeded, titles, same_recipe=True)
    assert "(Transfer minus Control): +1.0 points of accuracy on x, +10 points" in text
    assert "means over seeds" in text
    assert external.table(found, titles)["Recall at the operating point"].tolist()[0] == "80.0% (80.0–80.0)"


@pytest.fixture
def shipped(tmp_path, monkeypatch):
    """A copy of the shipped artifacts that the app reads, caches cleared around it."""
    root = tmp_path / "artifacts"
    shutil.copytree(paths.ARTIFACTS_DIR, root, ignore=shutil.ignore_patterns(".*"))
    monkeypatch.setenv(paths.ARTIFACTS_ENV_VAR, str(root))
    monkeypatch.setenv(paths.DATA_ENV_VAR, str(tmp_path / "no-dataset"))
    st.cache_data.clear()
    yield root
    st.cache_data.clear()


def test_the_command_scores_every_model_on_a_folder_and_reports_an_unreadable_file(shipped, tmp_path):
    folder = tmp_path / "slices"
    folder.mkdir()
    for i in range(3):
        make_scan(label=0, seed=i).save(folder / f"slice{i}.png")
    (folder / "broken.jpg").write_bytes(b"not a jpeg")
    study.main(["--external", str(folder), "--artifacts", str(shipped), "--model", "custom_cnn"])
    found, per_image = artifacts.load_external(shipped)
    assert found.images == 3 and found.unreadable == ("broken.jpg",)
    assert list(found.models) == ["custom_cnn"] and found.test_no_tumour == 405
    assert per_image["file"].tolist() == ["slice0.png", "slice1.png", "slice2.png"]
    figures = found.models["custom_cnn"]
    assert figures.validation_specificity >= study.TARGET_SPECIFICITY
    assert figures.recall.estimate == per_image["custom_cnn_called"].mean()
    assert sorted(figures.runs) == sorted(
        artifacts.model_runs("custom_cnn", shipped)
    )  # each seed with a model
    assert figures.runs[42].recall == figures.recall.estimate and figures.runs[42].auc == figures.auc.estimate


def test_without_a_folder_the_command_says_how_to_give_one(tmp_path, monkeypatch):
    monkeypatch.setenv(paths.EXTERNAL_ENV_VAR, str(tmp_path / "absent"))
    with pytest.raises(FileNotFoundError, match="pass --external DIR or set \\$BRAIN_MRI_EXTERNAL"):
        study.main(["--artifacts", str(tmp_path)])


def test_the_folder_comes_from_the_flag_then_the_environment_then_the_default(tmp_path, monkeypatch):
    monkeypatch.setenv(paths.EXTERNAL_ENV_VAR, str(tmp_path / "env"))
    assert paths.external_dir(tmp_path / "flag") == tmp_path / "flag"
    assert paths.external_dir() == tmp_path / "env"
    monkeypatch.delenv(paths.EXTERNAL_ENV_VAR)
    expected = paths.DEFAULT_EXTERNAL_DIR if paths.DEFAULT_EXTERNAL_DIR.is_dir() else None
    assert paths.external_dir() == expected


def test_a_damaged_external_file_names_its_writer(shipped):
    (shipped / artifacts.EXTERNAL_FILE).write_text('{"images": 3')
    with pytest.raises(artifacts.DamagedArtifactError, match="python -m core external"):
        artifacts.load_external(shipped)


def open_generalisation() -> AppTest:
    app = AppTest.from_file(str(paths.ROOT / "streamlit_app.py"), default_timeout=TIMEOUT)
    app.run()
    app.switch_page("pages/generalisation.py").run()
    assert not app.exception, [e.message for e in app.exception]
    return app


def test_the_generalisation_page_shows_every_model_on_the_external_set(shipped):
    app = open_generalisation()
    found, _ = artifacts.load_external(shipped)
    assert any(external.HEADING in s.value for s in app.subheader)
    tables = [t.value for t in app.dataframe if "Recall at the operating point" in t.value.columns]
    assert len(tables) == 1 and len(tables[0]) == len(found.models)  # the control included
    first = next(iter(found.models.values()))
    assert tables[0]["Recall at the operating point"].iloc[0].startswith(f"{first.recall.estimate:.1%}")


def test_without_the_artifact_the_page_says_how_to_add_the_set(shipped):
    (shipped / artifacts.EXTERNAL_FILE).unlink()
    app = open_generalisation()
    assert any(external.ABSENT in info.value for info in app.info)


def test_the_shipped_external_results_cover_every_shipped_model():
    found, per_image = artifacts.load_external()
    assert list(found.models) == artifacts.available_models()
    assert found.images == len(per_image)
    for name, figures in found.models.items():
        assert figures.recall.estimate == pytest.approx(per_image[f"{name}_called"].mean())
        assert figures.validation_specificity >= found.target_specificity
        assert sorted(figures.runs) == sorted(artifacts.model_runs(name))
        assert figures.runs[artifacts.load_manifest(name)["seed"]].recall == figures.recall.estimate
    assert (
        json.loads((paths.ARTIFACTS_DIR / artifacts.EXTERNAL_FILE).read_text())["target_specificity"] == 0.98
    )
