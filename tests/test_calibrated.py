"""Calibrated confidences: one number per answer, the validation temperature's, wherever it is shown."""

import dataclasses
import io
import json

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from conftest import make_scan
from core import artifacts, paths
from core.data.dataset import CLASS_NAMES, CLASS_TITLES, PROBABILITY_COLUMNS
from core.evaluation import calibration, training_gap
from core.models.registry import CUSTOM_CNN, MOBILENETV2
from core.report.figures import probability_bars
from core.serving.predict import Predictor, calibrated, confidence_text, predict_files

TIMEOUT = 120


def softmax(logits: np.ndarray) -> np.ndarray:
    exp = np.exp(logits - logits.max(axis=1, keepdims=True))
    return exp / exp.sum(axis=1, keepdims=True)


def png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def predictions_table(probabilities: np.ndarray, labels: np.ndarray) -> pd.DataFrame:
    table = pd.DataFrame(probabilities, columns=PROBABILITY_COLUMNS)
    table["true_label"] = [CLASS_NAMES[i] for i in labels]
    table["predicted_label"] = [CLASS_NAMES[i] for i in probabilities.argmax(axis=1)]
    return table


# --- the scaling serving applies -------------------------------------------------------------


def test_dividing_the_logits_by_t_is_softmax_of_logits_over_t():
    logits = np.array([[2.0, 1.0, 0.0, -1.0], [0.3, 0.2, 0.1, 0.0]])
    for temperature in (0.39, 1.42):
        np.testing.assert_allclose(
            calibrated(softmax(logits), temperature), softmax(logits / temperature), rtol=1e-9
        )


def test_an_under_confident_answer_gains_confidence_and_keeps_its_class():
    timid = np.array([[0.55, 0.15, 0.15, 0.15]])  # "55%" on an easy slice
    sharpened = calibrated(timid, 0.39)
    assert sharpened.argmax() == 0 and sharpened.max() > 0.9
    assert calibrated(timid, 1.0) is timid  # T = 1: the model's own numbers, untouched


def test_the_text_carries_the_number_its_bar_is_labelled_with():
    probabilities = np.array([0.0312, 0.8771, 0.0117, 0.08])
    bars = probability_bars({MOBILENETV2.name: probabilities}, {MOBILENETV2.name: "MobileNetV2"})
    assert confidence_text(probabilities) == "87.7%"
    assert confidence_text(probabilities) in bars.data[0].text


def test_a_predictor_scales_every_answer_by_its_temperature(tiny_cnn):
    model, config = tiny_cnn
    raw, scaled = Predictor(model, config), Predictor(model, config, temperature=0.39)
    images = np.stack([np.asarray(make_scan(label, 3, 64).convert("RGB")) for label in range(4)])
    np.testing.assert_allclose(
        scaled.probabilities(images), calibrated(raw.probabilities(images), 0.39), rtol=1e-5, atol=1e-7
    )
    data = png(make_scan(1, 4, 64))
    answer = scaled.predict_file(data, "scan.png").probabilities
    row = predict_files({config.name: scaled}, [("scan.png", data)]).iloc[0]
    assert row[f"{config.name}_confidence"] == pytest.approx(answer.max())  # the batch's number is the same
    assert (
        row[f"{config.name}_label"]
        == CLASS_NAMES[int(raw.predict_file(data, "scan.png").probabilities.argmax())]
    )


@pytest.mark.parametrize("temperature", [0.0, -1.0])
def test_a_temperature_that_is_not_positive_is_refused(tiny_cnn, temperature):
    with pytest.raises(ValueError, match="temperature must be positive"):
        Predictor(*tiny_cnn, temperature=temperature)


# --- fitting and the tables -------------------------------------------------------------------


def test_the_temperature_is_the_validation_splits_whatever_the_test_set():
    rng = np.random.default_rng(0)
    logits, labels = rng.normal(scale=2.5, size=(2000, 4)), rng.integers(0, 4, 2000)
    validation = predictions_table(softmax(logits * 2), labels)
    for test in (validation, predictions_table(softmax(logits[:50] * 5), labels[:50])):
        assert calibration.report(validation, test).temperature == calibration.validation_temperature(
            validation
        )


def test_a_scaled_table_changes_the_probabilities_not_the_labels():
    rng = np.random.default_rng(1)
    table = predictions_table(softmax(rng.normal(size=(20, 4))), rng.integers(0, 4, 20))
    scaled = calibration.scaled_table(table, 0.5)
    np.testing.assert_allclose(
        scaled[PROBABILITY_COLUMNS], calibrated(table[PROBABILITY_COLUMNS].to_numpy(), 0.5)
    )
    assert (
        scaled[PROBABILITY_COLUMNS].to_numpy().argmax(axis=1)
        == table[PROBABILITY_COLUMNS].to_numpy().argmax(axis=1)
    ).all()
    pd.testing.assert_frame_equal(
        scaled.drop(columns=PROBABILITY_COLUMNS), table.drop(columns=PROBABILITY_COLUMNS)
    )
    assert not table[PROBABILITY_COLUMNS].equals(scaled[PROBABILITY_COLUMNS])  # the input is left as it was


def scores(mean_confidence: float, accuracy: float) -> calibration.Scores:
    return calibration.Scores(ece=0.1, brier=0.1, nll=0.3, mean_confidence=mean_confidence, accuracy=accuracy)


def report(temperature: float, mean_confidence: float, accuracy: float) -> calibration.Report:
    bins = calibration.ReliabilityBins([], [], [], [], [])
    raw = scores(mean_confidence, accuracy)
    return calibration.Report(temperature, raw, raw, bins, bins)


def test_the_finding_says_which_way_each_model_leans_with_its_numbers():
    reports = {
        "cnn": report(0.3874, 0.824, 0.970),
        "control": report(1.4155, 0.970, 0.960),
        "steady": report(1.05, 0.90, 0.90),
    }
    found = calibration.finding(reports, {"cnn": "Custom CNN", "control": "The control", "steady": "Steady"})
    assert found.startswith(
        "Custom CNN is under-confident: its temperature is 0.39, so its raw answers understate how often "
        "it is right (82% confident on average on these test images, right on 97%); "
    )
    assert "The control is over-confident: its temperature is 1.42, so its raw answers overstate" in found
    assert "Steady is calibrated: its temperature is 1.05" in found and found.endswith(".")


def test_a_temperature_within_a_tenth_of_one_is_calibrated():
    temperatures = (0.39, 0.89, 0.95, 1.08, 1.42)
    leanings = [calibration.lean(temperature) for temperature in temperatures]
    assert leanings == ["under-confident", "under-confident", "calibrated", "calibrated", "over-confident"]


# --- why training accuracy sits below validation ---------------------------------------------


def history(train: float, validation: float) -> dict:
    epochs = [
        {"epoch": 1, "accuracy": 0.5, "val_accuracy": 0.6},
        {"epoch": 2, "accuracy": train, "val_accuracy": validation},
    ]
    return {"epochs": epochs, "phases": [{"name": "train", "best_epoch": 2}]}


def test_the_gap_note_names_the_models_below_validation_and_why():
    pasted = dataclasses.replace(CUSTOM_CNN, lesion_pastes=1.0, dropout=0.4)
    plain = dataclasses.replace(CUSTOM_CNN, name="plain", lesion_pastes=0.0)
    note = training_gap.gap_note(
        {"pasted": pasted, "plain": plain},
        {"pasted": history(0.78, 0.96), "plain": history(0.97, 0.95)},
        {"pasted": "CNN", "plain": "Plain"},
    )
    assert "(CNN 78% against 96%)" in note and "Plain" not in note
    assert "augmented (rotated, shifted, zoomed and flipped at random)" in note
    assert "pasted lesion" in note and "dropout is on while training" in note


def test_no_gap_note_where_training_accuracy_is_above_validation():
    assert training_gap.gap_note({"m": CUSTOM_CNN}, {"m": history(0.97, 0.95)}, {"m": "CNN"}) == ""


def test_the_kept_epoch_is_the_last_phases_best():
    two_phases = history(0.8, 0.9) | {"phases": [{"best_epoch": 1}, {"best_epoch": 2}]}
    assert training_gap.kept_epoch(two_phases)["accuracy"] == 0.8


# --- the pages, on the shipped artifacts ------------------------------------------------------


def open_page(page: str) -> AppTest:
    app = AppTest.from_file(str(paths.ROOT / "streamlit_app.py"), default_timeout=TIMEOUT)
    app.run()
    app.switch_page(page).run()
    assert not app.exception, [e.message for e in app.exception]
    return app


def bar_texts(app: AppTest) -> dict[str, list[str]]:
    """Each model's bar labels on the first chart with bars, by the trace's name (the model's title)."""
    for chart in app.get("plotly_chart"):
        traces = json.loads(chart.proto.spec)["data"]
        if traces and traces[0].get("type") == "bar":
            return {trace["name"]: trace["text"] for trace in traces}
    raise AssertionError("no bar chart on the page")


def test_live_prediction_text_and_bars_show_the_same_calibrated_number():
    path = paths.data_dir() / "Testing" / "notumor" / "Te-no_0226.jpg"
    if not path.is_file():
        pytest.skip(f"dataset not found: {path}")
    app = open_page("pages/predict.py")
    app.get_by_key("single_upload").set_value((path.name, path.read_bytes(), "image/jpeg"))
    app.run()
    assert not app.exception and not app.error
    names = artifacts.available_models()
    shown = [metric for metric in app.metric if metric.label == "Prediction"]
    bars = bar_texts(app)
    for name, metric in zip(names, shown):
        confidence = metric.proto.delta.removesuffix(" confident")
        title = artifacts.load_config(name).display_name
        assert confidence == max(bars[title], key=lambda text: float(text.rstrip("%"))), name
    # The custom CNN says "No tumor" at 55% raw; at its temperature (0.39), far more.
    cnn = dict(zip(names, shown))[CUSTOM_CNN.name]
    assert cnn.value == CLASS_TITLES["notumor"] and float(cnn.proto.delta.split("%")[0]) > 80
    captions = " ".join(caption.value for caption in app.caption)
    assert "Confidences are calibrated on the validation split" in captions and "T = 0.39" in captions


def test_the_calibration_page_says_what_calibration_finds():
    app = open_page("pages/calibration.py")
    found = " ".join(markdown.value for markdown in app.markdown)
    assert "Custom CNN (scratch) is under-confident: its temperature is 0.39" in found


def test_the_training_page_says_once_why_training_accuracy_is_lower():
    app = open_page("pages/training.py")
    notes = [
        caption.value for caption in app.caption if "training accuracy sits below validation" in caption.value
    ]
    assert len(notes) == 1 and "pasted lesion" in notes[0]
