import io
import threading
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from conftest import make_scan
from core.data.dataset import CLASS_NAMES, PROBABILITY_COLUMNS
from core.data.imagefile import ImageError
from core.evaluation.folder_predict import main, served
from core.serving.ood import Checker, Flag, Guard
from core.serving.predict import (
    NOT_RECOGNISED,
    TOO_SMALL,
    BatchSummary,
    Predictor,
    batch_summary,
    called_tumour,
    image_files,
    operating_answer,
    predict_files,
    predict_stream,
    refusal,
    shown_labels,
    shown_time,
)


def encode(image: Image.Image, format: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=format)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def predictor(tiny_cnn):
    return Predictor(*tiny_cnn)


def guard(threshold: float) -> Guard:
    """A guard on the tiny CNN's 128 features: +inf flags nothing, -1 flags everything."""
    return Guard(np.zeros((4, 128), np.float32), np.eye(128, dtype=np.float32), threshold)


@pytest.mark.parametrize("threshold, flagged", [(np.inf, False), (-1.0, True)])
def test_a_batch_flags_images_the_guard_finds_foreign(tiny_cnn, predictor, threshold, flagged):
    model, config = tiny_cnn
    checkers = {config.name: Checker(model, guard(threshold))}
    files = [("a.png", encode(make_scan(0, 1, 64))), ("empty.png", b"")]
    table = predict_files({config.name: predictor}, files, checkers=checkers).set_index("file")
    assert table.loc["a.png", "out_of_distribution"] == flagged
    assert table.loc["a.png", "too_small"] == False  # noqa: E712 (64 px: the model's own size)
    assert pd.isna(table.loc["empty.png", "out_of_distribution"])


def test_an_image_under_the_models_size_is_too_small_to_judge_not_foreign(tiny_cnn, predictor):
    model, config = tiny_cnn  # 64 px
    checkers = {config.name: Checker(model, guard(-1.0))}  # flags everything
    files = [("small.png", encode(make_scan(0, 1, 40))), ("large.png", encode(make_scan(0, 1, 100)))]
    table = predict_files({config.name: predictor}, files, checkers=checkers).set_index("file")
    assert table["too_small"].tolist() == [True, False]
    assert table["out_of_distribution"].tolist() == [False, True]
    shown = shown_labels(table, [config.name])
    assert shown[f"{config.name}_label"].tolist() == [TOO_SMALL, NOT_RECOGNISED]
    assert shown[f"{config.name}_confidence"].isna().all()
    summary = batch_summary(table.reset_index())
    assert (summary.too_small, summary.out_of_distribution, summary.agree) == (1, 1, 0)


def test_a_batch_gives_each_model_with_a_threshold_its_answer_at_the_operating_point(tiny_cnn, predictor):
    model, config = tiny_cnn
    files = [("a.png", encode(make_scan(0, 1, 64))), ("empty.png", b"")]
    p_tumour = 1 - predictor.predict_file(files[0][1], "a.png").probabilities[2]
    for threshold, called in ((p_tumour - 0.01, True), (p_tumour, False)):  # at the threshold: no tumour
        table = predict_files({config.name: predictor}, files, thresholds={config.name: threshold})
        assert table[f"{config.name}_tumour"].tolist()[0] == called
        assert pd.isna(table[f"{config.name}_tumour"][1])  # the failed row has no answer
        assert shown_labels(table, [config.name])[f"{config.name}_tumour"][0] == (
            "Tumour" if called else "No tumour"
        )
    checkers = {config.name: Checker(model, guard(-1.0))}  # flags everything: no answer shown
    table = predict_files({config.name: predictor}, files, checkers=checkers, thresholds={config.name: 0.5})
    assert shown_labels(table, [config.name])[f"{config.name}_tumour"].isna().all()
    assert f"{config.name}_tumour" not in predict_files({config.name: predictor}, files).columns


@pytest.mark.parametrize(
    "probabilities, threshold, expected",
    [
        ([0.5, 0.2, 0.03, 0.27], 0.91, "Tumour (P(tumour) 97% > 91%)"),
        ([0.3, 0.1, 0.58, 0.02], 0.91, "No tumour (P(tumour) 42% ≤ 91%)"),
        ([0.3, 0.5, 0.10, 0.10], 0.90, "No tumour (P(tumour) 90% ≤ 90%)"),
    ],
)
def test_the_operating_answer_names_its_figures(probabilities, threshold, expected):
    assert operating_answer(np.array(probabilities), threshold) == expected


@pytest.mark.parametrize(
    "flags, expected",
    [
        ([None, None], None),
        ([Flag("enlarged", too_small=True), None], TOO_SMALL),
        ([Flag("enlarged", too_small=True), Flag("far")], NOT_RECOGNISED),
        ([None, Flag("far")], NOT_RECOGNISED),
    ],
    ids=["no flag", "only too small", "too small and foreign", "foreign"],
)
def test_verdict_is_foreign_over_too_small_over_nothing(flags, expected):
    assert refusal(flags) == expected


def test_predict_file_returns_image_probabilities_and_time(predictor):
    result = predictor.predict_file(encode(make_scan(0, 0, 300)), "scan.png")
    assert result.image.shape == (64, 64, 3)
    assert (result.upload.width, result.upload.height) == (300, 300) and not result.upload.enlarged
    assert result.probabilities.shape == (4,) and result.probabilities.sum() == pytest.approx(1, abs=1e-5)
    assert result.inference_ms > 0 and result.wait_ms >= 0
    np.testing.assert_allclose(
        result.probabilities,
        predictor.model.predict(result.image[None].astype(np.float32), verbose=0)[0],
        atol=1e-5,
    )
    assert shown_time(result).endswith(" ms waiting") and " ms inference, " in shown_time(result)


def test_predict_file_times_the_wait_for_the_model_apart_from_its_call(tiny_cnn, monkeypatch):
    model, config = tiny_cnn
    predictor = Predictor(model, config)
    entered, release = threading.Event(), threading.Event()
    fast = predictor._probabilities

    def first_call_blocks(images):
        if not entered.is_set():
            entered.set()
            release.wait(timeout=30)
        return fast(images)

    monkeypatch.setattr(predictor, "_probabilities", first_call_blocks)
    data, results = encode(make_scan(0, 0, 64)), {}
    first = threading.Thread(target=lambda: results.update(first=predictor.predict_file(data, "1.png")))
    second = threading.Thread(target=lambda: results.update(second=predictor.predict_file(data, "2.png")))
    first.start()
    assert entered.wait(timeout=30)
    second.start()  # queues behind the first call, which holds the model
    time.sleep(0.5)
    release.set()
    for thread in (first, second):
        thread.join(timeout=30)
    assert results["first"].inference_ms >= 500  # blocked inside the model's call
    assert results["second"].wait_ms >= 250  # most of the half second spent queued
    assert results["second"].inference_ms < results["second"].wait_ms  # and not counted as inference


def test_predict_file_refuses_a_non_image(predictor):
    with pytest.raises(ImageError, match="notes.txt"):
        predictor.predict_file(b"hello", "notes.txt")


def test_a_bad_file_in_a_batch_is_reported_and_the_rest_go_on(predictor):
    files = [
        ("a.png", encode(make_scan(1, 1))),
        ("zero.jpg", b""),
        ("tiny.png", encode(Image.new("L", (2, 2)))),
        ("b.jpg", encode(make_scan(2, 2).convert("RGB"), "JPEG")),
    ]
    seen = []
    table = predict_files({"m1": predictor, "m2": predictor}, files, on_progress=seen.append)
    assert seen == [1, 2, 3, 4]
    assert table["file"].tolist() == ["a.png", "zero.jpg", "tiny.png", "b.jpg"]
    assert table["error"].tolist()[0] == "" and table["error"].tolist()[3] == ""
    assert "empty" in table.loc[1, "error"] and "2x2 px" in table.loc[2, "error"]
    assert table.loc[0, "agree"] == True  # noqa: E712 (same model twice)
    assert table.loc[0, "m1_label"] in {"glioma", "meningioma", "notumor", "pituitary"}
    assert np.isnan(table.loc[1, "m1_confidence"])


def write_folder(folder: Path) -> list[str]:
    """Three scans, a broken JPEG and a dangling link among files that are not images (.txt 2, .tif 1)."""
    (folder / "sub" / ".hidden").mkdir(parents=True)
    make_scan(0, 0).save(folder / "a.png")
    make_scan(1, 1).convert("RGB").save(folder / "sub" / "b.JPG")
    make_scan(2, 2).save(folder / "c.bmp")
    (folder / "bad.jpg").write_bytes(b"not a jpeg")
    (folder / "gone.png").symlink_to(folder / "nowhere.png")
    (folder / "notes.txt").write_text("not an image")
    (folder / "sub" / "readme.txt").write_text("not an image")
    make_scan(0, 0).save(folder / "sub" / "e.tif")  # TIFF is not accepted, so not picked up
    make_scan(3, 3).save(folder / ".thumb.png")
    make_scan(3, 3).save(folder / "sub" / ".hidden" / "d.png")
    return ["a.png", "bad.jpg", "c.bmp", "gone.png", "sub/b.JPG"]


def test_image_files_walks_the_folder_in_order_skipping_hidden_and_other_files(tmp_path):
    expected = write_folder(tmp_path)
    skipped = Counter()
    assert [path.relative_to(tmp_path).as_posix() for path in image_files(tmp_path, skipped)] == expected
    assert skipped == {".txt": 2, ".tif": 1}  # hidden files are left out silently


def test_a_folder_streams_to_csv_chunk_by_chunk(predictor, tmp_path):
    folder = tmp_path / "scans"
    names = write_folder(folder)
    pulled = []

    def lazily():
        for path in image_files(folder):
            pulled.append(path)
            yield path

    progress = []
    summary = predict_stream(
        {"m1": predictor, "m2": predictor},
        lazily(),
        folder,
        tmp_path / "out.csv",
        chunk_size=2,
        on_chunk=lambda done: progress.append((done, len(pulled))),
    )
    # After each chunk, only that chunk's files have been taken from the generator.
    assert progress == [(2, 2), (4, 4), (5, 5)]
    assert summary == BatchSummary(files=5, failed=2, agree=3, disagree=0, out_of_distribution=0)
    table = pd.read_csv(tmp_path / "out.csv", keep_default_na=False)
    assert table.columns.tolist() == [
        "file", "error", "m1_label", "m1_confidence", "m2_label", "m2_confidence", "agree"
    ]  # fmt: skip
    assert table["file"].tolist() == names
    errors = dict(zip(table["file"], table["error"]))
    assert "bad.jpg" in errors["bad.jpg"] and "cannot read file" in errors["gone.png"]
    assert {errors[name] for name in ("a.png", "c.bmp", "sub/b.JPG")} == {""}
    assert set(table.loc[table["error"] == "", "m1_label"]) <= {
        "glioma",
        "meningioma",
        "notumor",
        "pituitary",
    }


def test_an_empty_folder_gives_a_csv_with_only_its_header(predictor, tmp_path):
    summary = predict_stream({"m1": predictor}, iter([]), tmp_path, tmp_path / "out.csv")
    assert summary == BatchSummary()
    assert pd.read_csv(tmp_path / "out.csv").columns.tolist() == [
        "file", "error", "m1_label", "m1_confidence", "agree"
    ]  # fmt: skip


def saved(tiny_cnn, root: Path) -> Path:
    """The tiny CNN saved under `root` as `train` saves a model (no validation predictions)."""
    model, config = tiny_cnn
    model_dir = root / config.name
    model_dir.mkdir(parents=True)
    model.save(model_dir / "model.keras")
    config.save(model_dir / "config.json")
    guard(threshold=np.inf).save(model_dir / "ood.npz")
    return model_dir


def test_the_cli_classifies_a_folder_with_saved_models(tiny_cnn, tmp_path, capsys):
    name = saved(tiny_cnn, tmp_path / "artifacts").name
    write_folder(tmp_path / "scans")
    out = tmp_path / "results.csv"
    argv = ["--data", str(tmp_path / "scans"), "--out", str(out), "--model", name]
    main([*argv, "--artifacts", str(tmp_path / "artifacts")])
    results = pd.read_csv(out)
    assert len(results) == 5 and results["out_of_distribution"].isna().sum() == 2  # the 2 failed files
    assert f"{name}_tumour" not in results  # no validation predictions: no operating point
    printed = capsys.readouterr().out
    assert f"{name} on Keras" in printed and "5 files" in printed and "2 failed" in printed
    assert "3 skipped: not an image suffix (.txt 2, .tif 1)" in printed
    assert f"{name}: no validation predictions, so uncalibrated and no operating point" in printed


def test_the_cli_answers_as_the_app_calibrated_and_at_the_operating_point(tiny_cnn, tmp_path):
    root = tmp_path / "artifacts"
    model_dir = saved(tiny_cnn, root)
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 4, 200)
    validation = pd.DataFrame(rng.dirichlet(np.full(4, 0.3), 200), columns=PROBABILITY_COLUMNS)
    validation.insert(0, "true_label", [CLASS_NAMES[i] for i in labels])
    validation.to_csv(model_dir / "validation_predictions.csv", index=False)
    write_folder(tmp_path / "scans")
    out = tmp_path / "results.csv"
    argv = ["--data", str(tmp_path / "scans"), "--out", str(out), "--model", model_dir.name]
    main([*argv, "--artifacts", str(root)])
    results = pd.read_csv(out).dropna(subset=[f"{model_dir.name}_label"])
    predictor, threshold = served(model_dir.name, root)
    assert predictor.temperature != 1.0 and threshold is not None
    for row in results.itertuples():
        data = (tmp_path / "scans" / row.file).read_bytes()
        probabilities = predictor.predict_file(data, row.file).probabilities
        assert getattr(row, f"{model_dir.name}_confidence") == pytest.approx(probabilities.max(), abs=1e-6)
        assert getattr(row, f"{model_dir.name}_tumour") == called_tumour(probabilities, threshold)


@pytest.mark.parametrize(
    "out, error, message",
    [
        ("missing/results.csv", FileNotFoundError, "folder for --out not found: .*missing"),
        ("scans", FileNotFoundError, "--out is a folder, not a CSV file: .*scans"),
    ],
    ids=["folder missing", "a folder"],
)
def test_the_cli_checks_out_before_loading_any_model(tmp_path, monkeypatch, out, error, message):
    def no_loading(*args, **kwargs):
        raise AssertionError("a model was loaded before --out was checked")

    monkeypatch.setattr(Predictor, "from_artifacts", no_loading)
    (tmp_path / "scans").mkdir()
    with pytest.raises(error, match=message):
        main(["--data", str(tmp_path / "scans"), "--out", str(tmp_path / out)])


def flagged_table() -> pd.DataFrame:
    """predict_files' columns: two rows where the models agree, the first flagged by a guard."""
    return pd.DataFrame(
        {
            "file": ["odd.png", "a.png"],
            "error": ["", ""],
            "m1_label": ["glioma", "glioma"],
            "m1_confidence": [0.9, 0.8],
            "m2_label": ["glioma", "glioma"],
            "m2_confidence": [0.7, 0.6],
            "agree": [True, True],
            "out_of_distribution": [True, False],
        }
    )


def test_a_not_recognised_row_shows_no_confidence():
    shown = shown_labels(flagged_table(), ["m1", "m2"])
    assert shown.loc[0, ["m1_label", "m2_label"]].tolist() == [NOT_RECOGNISED] * 2
    assert shown.loc[0, ["m1_confidence", "m2_confidence"]].isna().all()
    assert shown.loc[1, ["m1_confidence", "m2_confidence"]].tolist() == [0.8, 0.6]


def test_a_not_recognised_row_does_not_count_as_agreement():
    summary = batch_summary(flagged_table())
    assert summary == BatchSummary(files=2, failed=0, agree=1, disagree=0, out_of_distribution=1)


def test_a_tumour_dispute_is_named_only_where_models_split_on_tumour_or_not():
    from core.serving.predict import tumour_dispute

    assert tumour_dispute({"A": "glioma", "B": "meningioma"}) is None  # both see a tumour
    assert tumour_dispute({"A": "notumor", "B": "notumor"}) is None
    warning = tumour_dispute({"A": "notumor", "B": "pituitary"})
    assert "A: No tumor" in warning and "B: Pituitary" in warning and "not known" in warning


def test_a_no_tumour_answer_is_doubted_where_the_tumour_classes_together_outweigh_it():
    from core.serving.predict import doubted_no_tumour

    leaning = np.array([0.2, 0.2, 0.45, 0.15])  # "no tumor" first, but 55% on the tumour classes
    assert doubted_no_tumour({"A": np.array([0.1, 0.1, 0.7, 0.1])}) is None  # a clear no tumour
    assert doubted_no_tumour({"A": np.array([0.6, 0.2, 0.1, 0.1])}) is None  # a tumour answer
    assert doubted_no_tumour({"A": np.array([0.2, 0.15, 0.5, 0.15])}) is None  # level: not more
    warning = doubted_no_tumour({"A": leaning, "B": np.array([0.1, 0.1, 0.7, 0.1])})
    assert warning.startswith("A answers *no tumor* as the likeliest single class") and "B" not in warning
    assert "the three tumour classes together get 55.0%, so" in warning
    both = doubted_no_tumour({"A": leaning, "B": np.array([0.3, 0.1, 0.4, 0.2])})
    assert both.startswith("A and B answer *no tumor*") and "together get 55.0% and 60.0%" in both
