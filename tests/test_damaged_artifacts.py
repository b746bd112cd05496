"""A damaged artifact (cut-off JSON or CSV, Git LFS pointer, half-copied archive) raises one error
that names the file and the command that rewrites it; the app shows it on the pages that need the
file while the others keep working."""

import shutil

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest
from test_app import TIMEOUT

from core import artifacts, cli, paths
from core.serving import ood

LFS_POINTER = (
    "version https://git-lfs.github.com/spec/v1\n"
    "oid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\n"
    "size 9871234\n"
)


@pytest.fixture
def shipped(tmp_path, monkeypatch):
    """A copy of the shipped artifacts that the app and the loaders read; caches cleared around it."""
    root = tmp_path / "artifacts"
    shutil.copytree(paths.ARTIFACTS_DIR, root, ignore=shutil.ignore_patterns(".*"))
    monkeypatch.setenv(paths.ARTIFACTS_ENV_VAR, str(root))
    monkeypatch.setenv(paths.DATA_ENV_VAR, str(tmp_path / "no-dataset"))
    st.cache_data.clear()
    st.cache_resource.clear()
    yield root
    st.cache_data.clear()
    st.cache_resource.clear()


def truncate(path, keep: float = 0.5) -> None:
    """Cut `path` off part way, as an interrupted copy leaves it."""
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])


def open_page(page: str) -> AppTest:
    app = AppTest.from_file(str(paths.ROOT / "streamlit_app.py"), default_timeout=TIMEOUT)
    app.run()
    if page != "pages/overview.py":
        app.switch_page(page).run()
    assert not app.exception, [e.message for e in app.exception]
    return app


@pytest.mark.parametrize(
    ("file", "load", "command"),
    [
        (
            "custom_cnn/metrics.json",
            lambda: artifacts.load_metrics("custom_cnn"),
            "core evaluate --model custom_cnn",
        ),
        (
            "custom_cnn/config.json",
            lambda: artifacts.load_config("custom_cnn"),
            "core train --model custom_cnn",
        ),
        (
            "mobilenetv2/history.json",
            lambda: artifacts.load_history("mobilenetv2"),
            "core train --model mobilenetv2",
        ),
        (
            "mobilenetv2/predictions.csv",
            lambda: artifacts.load_predictions("mobilenetv2"),
            "core evaluate",
        ),
        ("audit.json", artifacts.load_audit, "python -m core audit"),
        ("benchmark.json", artifacts.load_benchmark, "python -m benchmarks.inference"),
    ],
)
def test_a_cut_off_file_names_itself_and_its_writer(shipped, file, load, command):
    truncate(shipped / file)
    with pytest.raises(artifacts.ArtifactError, match="artifact damaged") as raised:
        load()
    assert str(shipped / file) in str(raised.value) and command in str(raised.value)


def test_a_cli_ends_on_a_damaged_file_with_one_line(shipped):
    truncate(shipped / "custom_cnn" / "metrics.json")
    with pytest.raises(SystemExit) as ended:
        cli.run(lambda: artifacts.load_metrics("custom_cnn"))
    assert str(ended.value.code).startswith("error: artifact damaged: ")


def test_a_damaged_metrics_file_is_an_error_on_its_pages_and_leaves_the_others(shipped):
    truncate(shipped / "custom_cnn" / "metrics.json")
    overview = open_page("pages/overview.py")  # the sidebar reads the metrics before any page
    assert any(str(shipped / "custom_cnn" / "metrics.json") in error.value for error in overview.error)
    training = open_page("pages/training.py")  # needs only the histories
    assert not training.error and len(training.get("plotly_chart")) == len(artifacts.available_models())


def test_a_damaged_benchmark_leaves_the_overview_not_measured_and_is_an_error_on_efficiency(shipped):
    truncate(shipped / artifacts.BENCHMARK_FILE)
    overview = open_page("pages/overview.py")
    assert not overview.error
    assert "not measured" in [metric.value for metric in overview.metric]
    efficiency = open_page("pages/efficiency.py")
    assert any(str(shipped / artifacts.BENCHMARK_FILE) in error.value for error in efficiency.error)


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        (lambda path: path.write_text(LFS_POINTER), "Git LFS pointer"),
        (truncate, "BadZipFile"),  # half copied: no central directory
    ],
)
def test_an_unreadable_model_file_is_named_not_reported_missing(shipped, damage, reason):
    path = shipped / "mobilenetv2" / artifacts.MODEL_FILE
    damage(path)
    for check in (artifacts.load_model, artifacts.check_model):
        with pytest.raises(artifacts.ArtifactError, match=reason) as raised:
            check("mobilenetv2")
        assert str(path) in str(raised.value)


@pytest.mark.parametrize("page", ["pages/predict.py", "pages/gradcam.py"])
def test_the_pages_that_load_models_name_a_git_lfs_pointer_before_any_upload(shipped, page):
    path = shipped / "custom_cnn" / artifacts.MODEL_FILE
    path.write_text(LFS_POINTER)
    app = open_page(page)
    assert any(str(path) in error.value and "git lfs pull" in error.value for error in app.error)
    assert not open_page("pages/confusion.py").error  # reads no model


def test_a_cut_off_guard_names_its_file(shipped):
    path = shipped / "custom_cnn" / artifacts.GUARD_FILE
    truncate(path)
    with pytest.raises(artifacts.ArtifactError, match="core evaluate --model custom_cnn") as raised:
        ood.load_guard("custom_cnn")
    assert str(path) in str(raised.value)


def test_a_cut_off_litert_file_names_itself_and_its_writer(shipped):
    from core.serving.litert import LiteRTModel

    path = artifacts.tflite_path("custom_cnn")
    truncate(path)
    with pytest.raises(artifacts.ArtifactError, match="core litert --model custom_cnn") as raised:
        LiteRTModel(path)
    assert str(path) in str(raised.value)
