"""Every page rendered with Streamlit's AppTest against the shipped artifacts."""

import io
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from conftest import make_scan, needs_dataset, write_dataset
from core import artifacts, paths
from core.data import subsets
from core.data.dataset import NOTUMOR, PROBABILITY_COLUMNS
from core.evaluation import calibration
from core.models import registry
from core.serving.predict import MAX_BATCH_FILES, NOT_RECOGNISED, TOO_SMALL

PAGES = [
    "pages/overview.py",
    "pages/confusion.py",
    "pages/training.py",
    "pages/gradcam.py",
    "pages/mistakes.py",
    "pages/calibration.py",
    "pages/audit.py",
    "pages/generalisation.py",
    "pages/efficiency.py",
    "pages/predict.py",
    "pages/curves.py",
    "pages/image.py",
    "pages/train.py",
]
TIMEOUT = 120  # the first page pays for importing TensorFlow


def open_page(page: str, data_dir: str | None = None, subset: str | None = None) -> AppTest:
    app = AppTest.from_file(str(paths.ROOT / "streamlit_app.py"), default_timeout=TIMEOUT)
    if data_dir is not None:
        app.session_state["data_dir"] = data_dir
    if subset is not None:
        app.session_state["test_subset"] = subset
    app.run()
    if page != PAGES[0]:
        app.switch_page(page).run()
    assert not app.exception, [e.message for e in app.exception]
    return app


@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders_without_the_dataset(page, tmp_path):
    app = open_page(page, data_dir=str(tmp_path / "nowhere"))
    assert app.title


IMAGE_PAGES = ["pages/gradcam.py", "pages/mistakes.py", "pages/audit.py", "pages/image.py"]


@pytest.mark.parametrize("page", IMAGE_PAGES)
def test_image_pages_say_how_to_provide_the_dataset(page, tmp_path):
    app = open_page(page, data_dir=str(tmp_path / "nowhere"))
    assert any(paths.DATA_ENV_VAR in info.value for info in app.info)


def test_overview_shows_each_models_accuracy():
    app = open_page("pages/overview.py")
    labels = [m.label for m in app.metric]
    assert labels.count("Accuracy") == len(artifacts.available_models())
    for name in artifacts.available_models():
        expected = f"{artifacts.load_metrics(name).accuracy:.2%}"
        assert expected in [m.value for m in app.metric if m.label == "Accuracy"]
    reference = next(frame.value for frame in app.dataframe if "source" in frame.value.columns)
    assert "published" in reference["source"].iloc[-1]
    # each card gets its interval once the bootstrap has run
    assert sum(c.value.startswith("95% bootstrap CI: accuracy") for c in app.caption) == len(
        artifacts.available_models()
    )
    assert "About a third of these test images" in " ".join(m.value for m in app.markdown)


def test_the_overview_opens_on_a_verdict_over_the_full_test_set_and_the_clean_subset():
    app = open_page("pages/overview.py")
    names = artifacts.available_models()[:2]
    titles = {name: registry.get(name).short_name for name in names}  # the table's; the sentence has titles
    headline, axes_line = app.markdown[0].value, app.markdown[1].value
    assert headline.startswith("### In source: ") and (
        "more accurate" in headline or "No clear winner" in headline
    )
    assert "Out of source: " in headline  # both axes in the first line
    assert axes_line.startswith("Accuracy on the clean subset: ") and "Tumours found on " in axes_line
    chart = app.get("plotly_chart")[0]  # every run on both axes
    assert "tumours found out of source" in chart.proto.spec
    sentence = next(m.value for m in app.markdown if m.value.startswith("On the clean subset"))
    assert "on the full test set" in sentence
    assert "McNemar" in sentence and "95% CI" in sentence
    table = app.dataframe[0].value
    assert table["test images"].tolist() == ["Full test set", "Clean subset"]
    assert table["images"].tolist() == [artifacts.load_metrics(names[0]).n_images, len(clean_paths())]
    full = artifacts.load_metrics(names[0]).accuracy
    assert table[titles[names[0]]][0] == pytest.approx(full)
    assert table[f"{titles[names[0]]}: seed SD"][0].endswith(" points")  # it was trained over seeds
    assert all("…" not in m.value for m in app.metric)  # no number cut on the cards
    shown = " ".join(element.value for element in [*app.markdown, *app.caption])
    for name in artifacts.available_models():  # every figure under a model's title, never its name
        assert not re.search(rf"\b{name} \d", shown), name


def clean_paths() -> set[str]:
    return {t["path"] for t in artifacts.load_audit()["test_images"] if not t["near"]}


def test_overview_on_the_clean_subset_shows_its_accuracies_and_the_paired_test():
    app = open_page("pages/overview.py", subset="Clean subset")
    clean = clean_paths()
    assert f"the {len(clean):,} of" in " ".join(m.value for m in app.markdown)
    shown = [m.value for m in app.metric if m.label == "Accuracy"]
    for name in artifacts.available_models():
        table = artifacts.load_predictions(name)
        part = table[table["path"].isin(clean)]
        assert f"{(part['true_label'] == part['predicted_label']).mean():.2%}" in shown
    reading = " ".join(m.value for m in app.markdown)
    assert "McNemar's exact test" in reading and "95% CI" in reading
    frames = [frame.value for frame in app.dataframe]
    agreement = next(frame for frame in frames if any("right" in str(label) for label in frame.index))
    assert agreement.to_numpy().sum() == len(clean)
    over_seeds = next(frame for frame in frames if "runs" in frame.columns)  # scored on the clean subset
    for i, name in enumerate(artifacts.available_models()):
        runs = artifacts.load_run_predictions(name).values()
        accuracies = [(t["true_label"] == t["predicted_label"])[t["path"].isin(clean)].mean() for t in runs]
        assert over_seeds["runs"][i] == len(accuracies)
        assert over_seeds["mean accuracy"][i] == pytest.approx(sum(accuracies) / len(accuracies))


def test_a_subset_accuracy_without_scikit_learn_is_the_subset_metrics_one():
    from pages.ui import loaders

    for name in artifacts.available_models():
        for subset in (subsets.FULL, subsets.CLEAN):
            expected = loaders.subset_metrics(name, subset).accuracy
            assert loaders.subset_accuracy(name, subset) == pytest.approx(expected)


def test_the_first_page_opens_without_importing_scikit_learn_or_scipy():
    """Importing them costs about a second of the dashboard's start; the first page has no need.
    (The models' warming, which starts once the page is drawn, imports them: it is left out.)"""
    script = (
        "import sys; from streamlit.testing.v1 import AppTest; from pages.ui import warm; "
        "warm.start = lambda: None; "
        f"app = AppTest.from_file({str(paths.ROOT / 'streamlit_app.py')!r}, default_timeout=120); "
        "app.run(); print(not app.exception and any(t.value == 'Transfer learning vs training from scratch' "
        "for t in app.title), 'sklearn' in sys.modules, 'scipy' in sys.modules)"
    )
    shown = subprocess.run(
        [sys.executable, "-c", script], cwd=paths.ROOT, capture_output=True, text=True, timeout=300
    )
    assert shown.stdout.split()[-3:] == ["True", "False", "False"], shown.stderr[-2000:]


def test_clean_subset_confusion_matrices_hold_only_its_images():
    app = open_page("pages/confusion.py", subset="Clean subset")
    for chart in app.get("plotly_chart")[: len(artifacts.available_models())]:
        counts = [int(point[2]) for point in json.loads(chart.proto.spec)["data"][0]["customdata"]]
        assert sum(counts) == len(clean_paths())


def test_calibration_page_fits_a_temperature_per_model():
    app = open_page("pages/calibration.py")
    table = app.dataframe[0].value
    assert len(table) == 2 * len(artifacts.available_models())
    assert (table["temperature"] > 0).all() and (table["expected calibration error"] >= 0).all()
    assert len(app.get("plotly_chart")) == len(artifacts.available_models())


def test_confusion_page_has_a_chart_per_model():
    app = open_page("pages/confusion.py")
    charts = [
        chart
        for chart in app.get("plotly_chart")
        if chart.key.startswith("cm_") and chart.key != "cm_difference"
    ]
    assert len(charts) == len(artifacts.available_models())


def test_training_page_draws_curves_per_model():
    app = open_page("pages/training.py")
    assert len(app.get("plotly_chart")) == len(artifacts.available_models())


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def predict_one(name: str, data: bytes) -> AppTest:
    app = open_page("pages/predict.py")
    app.get_by_key("single_upload").set_value((name, data, "image/png"))
    app.run()
    assert not app.exception and not app.error
    return app


def test_an_upload_unlike_the_training_data_gets_a_warning_not_a_tumor_label():
    app = predict_one("blob.png", _png(make_scan(2, 0, 256)))  # a bright square on noise, not small
    assert any("does not look like the brain MRI slices" in w.value for w in app.warning)
    predictions = [m.value for m in app.metric if m.label == "Prediction"]
    assert predictions == ["Not recognised"] * len(artifacts.available_models())


def test_a_flat_upload_is_not_recognised_and_its_reason_said_once_for_all_models():
    app = predict_one("white.png", _png(Image.new("RGB", (256, 256), "white")))
    [warning] = [w.value for w in app.warning if "does not look like" in w.value]
    assert warning.count("one flat shade") == 1
    predictions = [m.value for m in app.metric if m.label == "Prediction"]
    assert predictions == [NOT_RECOGNISED] * len(artifacts.available_models())


@needs_dataset
def test_a_no_tumour_answer_leaning_to_a_tumour_is_doubted():
    """The Testing image some shipped model answers "no tumor" most clearly while putting more than
    half its probability on the tumour classes, in probabilities calibrated as the page shows them."""
    margins: dict[str, float] = {}
    for name in artifacts.available_models():
        temperature = calibration.validation_temperature(artifacts.load_predictions(name, split="validation"))
        shown = calibration.scaled_table(artifacts.load_predictions(name), temperature)
        p = shown[PROBABILITY_COLUMNS].to_numpy()
        tumour_classes = np.delete(p, NOTUMOR, axis=1)
        # The distance to the nearer edge: "no tumor" the first class, the tumour classes over half.
        margin = np.minimum(p[:, NOTUMOR] - tumour_classes.max(axis=1), tumour_classes.sum(axis=1) - 0.5)
        for path, value in zip(shown["path"], margin):
            margins[path] = max(value, margins.get(path, -1.0))
    path = max(margins, key=margins.get)
    assert margins[path] > 0.02
    app = predict_one(Path(path).name, (paths.data_dir() / path).read_bytes())
    assert any("as the likeliest single class, but not a majority" in w.value for w in app.warning)


def test_an_upload_under_the_models_input_size_is_too_small_to_judge_not_foreign():
    app = predict_one("small.png", _png(make_scan(2, 0, 64)))  # flagged, and under every input size
    assert not any("does not look like" in w.value for w in app.warning)
    assert any(w.value.startswith(f"**{TOO_SMALL}**") and "64x64 px" in w.value for w in app.warning)
    predictions = [m.value for m in app.metric if m.label == "Prediction"]
    assert predictions == [TOO_SMALL] * len(artifacts.available_models())


def test_a_prediction_shows_inference_and_waiting_time_apart():
    app = predict_one("blob.png", _png(make_scan(2, 0, 128)))
    times = [c.value for c in app.caption if c.value.endswith(" ms waiting")]
    assert len(times) == len(artifacts.available_models()) and all(" ms inference, " in t for t in times)


def test_the_page_states_the_upload_limits():
    config = (paths.ROOT / ".streamlit" / "config.toml").read_text()
    max_mb = re.search(r"^maxUploadSize = (\d+)$", config, re.MULTILINE).group(1)  # what the server enforces
    app = open_page("pages/predict.py")
    caption = app.caption[0].value
    assert f"{max_mb} MB per file" in caption
    assert f"{MAX_BATCH_FILES} files per batch" in caption


def test_a_batch_over_the_file_cap_classifies_the_first_files_and_says_so():
    app = open_page("pages/predict.py")
    files = [(f"{i:04d}.png", b"", "image/png") for i in range(MAX_BATCH_FILES + 5)]  # refused fast
    app.get_by_key("batch_upload").set_value(files)
    app.run()
    assert not app.exception
    table = app.dataframe[0].value
    assert table["file"].tolist() == [name for name, _, _ in files[:MAX_BATCH_FILES]]
    cap = next(w.value for w in app.warning if "a batch classifies at most" in w.value)
    assert f"{MAX_BATCH_FILES + 5:,} files" in cap and "the other 5 are left out" in cap


def test_batch_prediction_reports_a_bad_file_and_goes_on():
    app = open_page("pages/predict.py")
    files = [
        ("good.png", _png(make_scan(0, 1, 256)), "image/png"),
        ("empty.jpg", b"", "image/jpeg"),
        ("truncated.png", _png(make_scan(1, 2, 96))[:100], "image/png"),
        ("also-good.png", _png(make_scan(3, 3, 256)), "image/png"),
        ("small.png", _png(make_scan(3, 4, 64)), "image/png"),
    ]
    app.get_by_key("batch_upload").set_value(files)
    app.run()
    assert not app.exception
    table = app.dataframe[0].value.set_index("file")
    assert list(table.index) == [name for name, _, _ in files]
    assert table.loc["empty.jpg", "error"].startswith("file is empty")
    assert "truncated.png" in table.loc["truncated.png", "error"]
    assert table.loc["good.png", "error"] == "" and table.loc["also-good.png", "error"] == ""
    # Synthetic blobs are nothing like an MRI slice: flagged, with no tumor label shown.
    assert table.loc["good.png", "out_of_distribution"] == True  # noqa: E712
    assert table.loc["good.png", "mobilenetv2_label"] == "Not recognised"
    assert any("do not look like the brain MRI slices" in w.value for w in app.warning)
    # Under every model's input size: enlarged, so too small to judge rather than foreign.
    assert table.loc["small.png", "mobilenetv2_label"] == TOO_SMALL
    assert table.loc["small.png", "out_of_distribution"] == False  # noqa: E712
    assert any(f"shown as *{TOO_SMALL}*" in w.value for w in app.warning)
    # No operating-point answer where no class is shown either.
    assert table.loc[["good.png", "small.png"], "mobilenetv2_tumour"].isna().all()


@needs_dataset
def test_live_prediction_of_a_real_scan_shows_both_models_labels():
    path = next((paths.data_dir() / "Testing" / "meningioma").glob("*.jpg"))
    app = predict_one(path.name, path.read_bytes())
    assert not app.warning
    predictions = [m.value for m in app.metric if m.label == "Prediction"]
    assert len(predictions) == len(artifacts.available_models())
    assert all(label in {"Glioma", "Meningioma", "No tumor", "Pituitary"} for label in predictions)
    # Each model's tumour / no-tumour answer at its validated operating point, and what that is.
    operating = [c.value for c in app.caption if c.value.startswith("At its operating point: ")]
    assert len(operating) == len(artifacts.available_models())
    assert all(
        re.fullmatch(r"At its operating point: (No tumour|Tumour) \(P\(tumour\) \d+% (≤|>) \d+%\)", c)
        for c in operating
    )
    assert any("98% of validation no-tumour slices" in c.value for c in app.caption)


@needs_dataset
def test_a_real_scan_downscaled_to_64_px_is_never_called_foreign():
    path = sorted((paths.data_dir() / "Testing" / "meningioma").glob("*.jpg"))[0]
    small = Image.open(path).convert("RGB").resize((64, 64), Image.Resampling.LANCZOS)
    app = predict_one(path.name, _png(small))
    assert not any("does not look like" in w.value for w in app.warning)
    predictions = [m.value for m in app.metric if m.label == "Prediction"]
    assert NOT_RECOGNISED not in predictions and len(predictions) == len(artifacts.available_models())


@needs_dataset
def test_misclassified_explorer_shows_thumbnails_and_gradcam():
    app = open_page("pages/mistakes.py", data_dir=str(paths.data_dir()))
    assert not app.error
    assert app.image
    assert "images, sorted by" in " ".join(m.value for m in app.markdown)


def test_audit_page_shows_the_clean_subset_and_each_models_accuracy_on_it(tmp_path):
    app = open_page("pages/audit.py", data_dir=str(tmp_path / "nowhere"))
    audit = artifacts.load_audit()
    clean = next(m for m in app.metric if m.label == "Clean subset")
    n_clean = sum(not (t["near"] or t["exact"]) for t in audit["test_images"])
    assert clean.value == f"{n_clean:,}"
    table = app.dataframe[0].value
    assert set(table["subset"]) == {"full", "clean", "duplicated"}
    assert len(table) == 3 * len(artifacts.available_models())


def test_a_different_test_set_is_named_and_its_images_not_mixed_in(tmp_path):
    folder = write_dataset(tmp_path / "other", per_class=2)
    overview = open_page("pages/overview.py", data_dir=str(folder))
    assert any("not the test set the models were evaluated on" in c.value for c in overview.sidebar.caption)
    mistakes = open_page("pages/mistakes.py", data_dir=str(folder))
    assert any(paths.DATA_ENV_VAR in info.value for info in mistakes.info)
    assert not mistakes.image


def test_efficiency_page_shows_the_benchmark_and_training_time():
    app = open_page("pages/efficiency.py")
    benchmarks = [artifacts.load_benchmark(file=file) for file in artifacts.BENCHMARKS]
    targets = next(frame.value for frame in app.dataframe if "target" in frame.value.columns)
    assert len(targets) == sum(len(benchmark.get("targets", [])) for benchmark in benchmarks)
    assert len(app.get("plotly_chart")) == 1
    compared = [name for name in artifacts.available_models() if not registry.get(name).control]
    total = sum(artifacts.load_quickest_manifest(name)["wall_time_s"]["total"] for name in compared)
    assert f"end to end: **{total / 60:.1f} min**" in " ".join(m.value for m in app.markdown)
    uploads = next(frame.value for frame in app.dataframe if "uploads" in frame.value.columns)
    soaked = artifacts.load_benchmark(file=artifacts.SOAK_FILE)
    assert uploads["answer, median (s)"].tolist()[0] == soaked["soak"]["answer"]["median_s"]
    assert uploads["page finished, median (s)"].tolist()[0] == soaked["soak"]["finished"]["median_s"]
    visits = next(frame.value for frame in app.dataframe if "page" in frame.value.columns)
    shown = artifacts.load_benchmark(file=artifacts.FIRST_VISIT_FILE)["pages"]
    assert visits["page"].tolist() == list(shown) and visits["complete (s)"].tolist()[1:] == [
        times["complete_s"] for times in list(shown.values())[1:]
    ]


def test_generalisation_page_shows_sources_leave_one_source_out_and_the_guard():
    from core.data import provenance
    from core.report import generalisation
    from core.studies import crosssource

    app = open_page("pages/generalisation.py")
    tables = [frame.value for frame in app.dataframe]
    sources = tables[0]
    counted = artifacts.load_provenance()["counts"]
    assert sources["Images"].sum() == sum(
        sum(c.values()) for split in counted.values() for c in split.values()
    )
    per_source = tables[1]
    assert set(per_source["Source"]) == set(artifacts.load_provenance()["test_sources"].values())
    assert per_source["Images"].sum() == artifacts.load_metrics(artifacts.available_models()[0]).n_images
    summary = artifacts.load_crosssource()
    loso = tables[2]
    assert set(loso["Held out"]) == set(crosssource.FOLDS)
    for fold, entry in summary.folds.items():
        for name, figures in entry.models.items():
            row = loso[(loso["Held out"] == fold) & (loso["Model"] == registry.get(name).short_name)]
            assert row["Tumour recall"].iloc[0].startswith(f"{figures.tumour_recall.estimate:.1%}")
    assert len(app.get("plotly_chart")) >= 2  # a confusion per model for the chosen fold
    recipes = next(table for table in tables if "Recipe" in table)  # every recipe side by side
    assert list(dict.fromkeys(recipes["Recipe"])) == list(
        map(generalisation.recipe_title, artifacts.crosssource_recipes())
    )
    warnings = next(table for table in tables if "Nearest training images" in table)
    assert set(warnings["Held out"]) == set(crosssource.FOLDS)
    assert any("Model card" in e.label for e in app.expander)
    assert any(provenance.FIGSHARE in m.value for m in app.markdown)


def test_the_clean_subset_gives_per_source_figures_on_its_images_only():
    app = open_page("pages/generalisation.py", subset="Clean subset")
    from core.data.subsets import clean_test_paths

    per_source = app.dataframe[1].value
    assert per_source["Images"].sum() == len(clean_test_paths(artifacts.load_audit()))


def test_overview_and_live_prediction_carry_the_model_card():
    for page in ("pages/overview.py", "pages/predict.py"):
        app = open_page(page)
        card = next(e for e in app.expander if "Model card" in e.label)
        assert any("Not for" in m.value for m in card.markdown)


def test_gradcam_page_scores_every_model_against_the_tumour_boxes():
    from core.serving.gradcam import METHODS

    app = open_page("pages/gradcam.py")
    summary, _ = artifacts.load_localisation()
    scores = next(frame.value for frame in app.dataframe if "Pointing game" in frame.value)
    titles = {name: artifacts.load_config(name).display_name for name in summary["models"]}
    assert set(scores["Model"]) == set(titles.values()) and set(scores["Method"]) == set(METHODS)
    for name, by_method in summary["models"].items():
        row = scores[(scores["Model"] == titles[name]) & (scores["Method"] == METHODS[0])]
        assert (
            row["Pointing game"]
            .iloc[0]
            .startswith(f"{by_method[METHODS[0]]['full']['pointing']['estimate']:.1%}")
        )
    assert any("McNemar" in caption.value for caption in app.caption)


@needs_dataset
def test_a_boxed_test_image_gets_its_tumour_box_and_each_models_score():
    app = open_page("pages/gradcam.py")  # the first glioma test image is a boxed figshare slice
    assert [toggle.label for toggle in app.toggle] == ["Show the tumour box"]
    described = [c.value for c in app.caption if c.value.startswith("Tumour box: peak")]
    assert len(described) == len(artifacts.available_models())
    app.toggle[0].set_value(False).run()
    assert not [c.value for c in app.caption if c.value.startswith("Tumour box: peak")]


@needs_dataset
def test_the_audit_shows_the_label_conflicts_between_collections():
    from core.data.provenance import LABEL_CONFLICTS

    app = open_page("pages/audit.py")
    conflicts = [c.value for c in app.caption if "figshare says Meningioma" in c.value]
    assert len(conflicts) == len(LABEL_CONFLICTS)


def test_the_audit_threshold_slider_redraws_the_clean_subset_and_the_verdict():
    result = artifacts.load_audit()
    app = open_page("pages/audit.py")
    assert any("not patient by patient" in m.value for m in app.markdown)
    clean = next(m for m in app.metric if m.label == "Clean subset")
    assert clean.value == f"{len(subsets.clean_test_paths(result)):,}"
    app.slider[0].set_value(0.2).run()
    assert not app.exception, [e.message for e in app.exception]
    expected = sum(not (t["exact"] or t["distance"] <= 0.2) for t in result["test_images"])
    assert next(m for m in app.metric if m.label == "Clean subset").value == f"{expected:,}"
    assert expected < len(subsets.clean_test_paths(result))
    assert any(h.value == "The verdict with the clean subset at 0.200" for h in app.subheader)
    assert any(f"clean subset ({expected:,} images)" in m.value for m in app.markdown)
    table = next(frame.value for frame in app.dataframe if "subset" in frame.value.columns)
    clean_rows = table[table["subset"] == "clean"]
    assert (clean_rows["images"] == expected).all()


def test_a_cell_chosen_from_the_keyboard_list_opens_its_images_a_page_at_a_time():
    app = open_page("pages/confusion.py", data_dir=str(paths.data_dir()))
    name = artifacts.available_models()[0]
    matrix = artifacts.load_metrics(name).confusion_matrix
    app.selectbox(key="cm_cell").set_value((name, "notumor", "notumor")).run()
    assert not app.exception
    assert app.subheader[0].value.endswith(f"({matrix[2][2]} images)")
    if (paths.data_dir() / "Testing").is_dir():
        assert matrix[2][2] > 24 and "Images 1–24 of" in " ".join(c.value for c in app.caption)
        app.number_input(key="cm_gallery_page").set_value(2).run()
        assert "Images 25–48 of" in " ".join(c.value for c in app.caption)
    table = next(frame.value for frame in app.dataframe if "true class" in frame.value.columns)
    assert len(table) == matrix[2][2] and (table["true class"] == "No tumor").all()
    assert any(column.endswith(": confidence") for column in table.columns)


def test_the_confusion_page_draws_the_difference_of_the_first_two_models():
    app = open_page("pages/confusion.py")
    a, b = artifacts.available_models()[:2]
    charts = app.get("plotly_chart")
    assert len(charts) == len(artifacts.available_models()) + 1
    difference = json.loads(charts[-1].proto.spec)["data"][0]
    first, second = (artifacts.load_metrics(n).confusion_matrix for n in (a, b))
    assert difference["text"][0] == f"{first[0][0] - second[0][0]:+d}".replace("+0", "0")


@needs_dataset
def test_the_detail_view_shows_one_image_both_models_and_steps_through_its_selection():
    from pages.ui import gallery

    joined = artifacts.load_predictions(artifacts.available_models()[0])
    paths_ = joined["path"].tolist()[:3]
    key = gallery.remember("three images", paths_)
    app = AppTest.from_file(str(paths.ROOT / "streamlit_app.py"), default_timeout=TIMEOUT)
    app.query_params["path"], app.query_params["sel"] = paths_[1], key
    app.run()
    app.switch_page("pages/image.py").run()
    assert not app.exception and not app.error
    text = " ".join(m.value for m in app.markdown)
    assert "**2** of 3: three images" in text and "**Leakage:**" in text and "**True class:**" in text
    n_models = len(artifacts.available_models())
    assert len(app.image) >= 1 + n_models + 1  # the image, a map or two per model, its nearest training image
    assert len(app.get("plotly_chart")) == 2  # probabilities and the colour key
    buttons = {b.label: b for b in app.button}
    assert not buttons["← Previous"].disabled and not buttons["Next →"].disabled
    app.query_params["path"] = paths_[2]  # where Next goes: the browser test clicks it
    app.run()
    assert "**3** of 3" in " ".join(m.value for m in app.markdown)
    assert next(b for b in app.button if b.label == "Next →").disabled


@needs_dataset
def test_the_detail_view_of_an_unknown_image_says_where_to_open_one():
    app = AppTest.from_file(str(paths.ROOT / "streamlit_app.py"), default_timeout=TIMEOUT)
    app.query_params["path"] = "Testing/glioma/not-there.jpg"
    app.run()
    app.switch_page("pages/image.py").run()
    assert not app.exception
    (info,) = app.info
    assert "Open a test image from a gallery" in info.value
    assert "`Testing/glioma/not-there.jpg` is not one of the test images" in info.value


@needs_dataset
def test_the_gradcam_picker_keeps_the_image_when_the_subset_changes():
    app = open_page("pages/gradcam.py", data_dir=str(paths.data_dir()))
    picked = sorted(clean_paths())[5]
    app.session_state["gradcam_path"] = picked  # as a click on its row leaves it
    app.session_state["test_subset"] = "Clean subset"  # another list: it starts on the picked image
    app.run()
    assert not app.exception and f"`{picked}`" in " ".join(m.value for m in app.markdown)
    picker = next(frame for frame in app.dataframe if "image" in frame.value.columns)
    assert picker.value["image"].str.startswith("data:image/png;base64,").all()


def test_a_refused_upload_gets_no_class_on_the_gradcam_page_either():
    app = open_page("pages/gradcam.py")
    app.segmented_control[0].set_value("Upload").run()
    app.file_uploader[0].set_value(("blob.png", _png(make_scan(2, 0, 256)), "image/png")).run()
    assert not app.exception
    answers = [m.value for m in app.markdown if "→" in m.value]
    assert len(answers) == len(artifacts.available_models())
    assert all(f"**{NOT_RECOGNISED}**" in answer and "%" not in answer for answer in answers)
    assert any("not to be trusted" in expander.label for expander in app.expander)


def test_explain_on_live_prediction_draws_each_models_map():
    app = predict_one("scan.png", _png(make_scan(1, 5, 200)))
    shown = len(app.image)
    next(b for b in app.button if b.label == "Explain").click().run()
    assert not app.exception
    assert len(app.image) == shown + 2 * len(artifacts.available_models())  # input and overlay each


def test_explain_draws_no_map_for_an_upload_the_guard_does_not_recognise():
    app = predict_one("blob.png", _png(make_scan(2, 0, 256)))  # as the Grad-CAM page refuses it
    shown = len(app.image)
    next(b for b in app.button if b.label == "Explain").click().run()
    assert not app.exception
    assert len(app.image) == shown and any("No maps" in info.value for info in app.info)


def test_the_audit_cards_add_up_to_the_test_set(tmp_path):
    app = open_page("pages/audit.py", data_dir=str(tmp_path / "nowhere"))
    values = {m.label: int(m.value.replace(",", "")) for m in app.metric}
    parts = ("Same file in Training", "Near duplicate, not the same file", "Clean subset")
    assert sum(values[part] for part in parts) == values["Test images"]
