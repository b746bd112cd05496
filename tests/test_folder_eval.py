from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import make_scan
from core.data.dataset import CLASS_NAMES, DatasetError
from core.evaluation.folder_eval import (
    CLASSES,
    TUMOUR,
    TUMOUR_AXIS,
    evaluate_folder,
    failure_table,
    find_labelled,
    main,
    scores,
)
from core.serving.ood import Checker, Guard
from core.serving.predict import NOT_RECOGNISED, Predictor


def write_labelled(root: Path, folders: dict[str, int], size: int = 64) -> Path:
    """`folders`: sub-folder name -> images in it; each image's blob in its class's quadrant."""
    for i, (folder, count) in enumerate(folders.items()):
        (root / folder).mkdir(parents=True)
        for j in range(count):
            make_scan(i % 4, seed=100 * i + j, size=size).save(root / folder / f"{j:02d}.png")
    return root


@pytest.mark.parametrize(
    "folders, kind, labels",
    [
        (
            {"glioma": 1, "meningioma": 1, "notumor": 1, "pituitary": 1},
            CLASSES,
            ["glioma", "meningioma", "notumor", "pituitary"],
        ),
        ({"glioma_tumor": 1, "no_tumor": 2}, CLASSES, ["glioma", "notumor", "notumor"]),
        ({"Glioma": 1, "NoTumor": 1}, CLASSES, ["glioma", "notumor"]),
        ({"yes": 2, "no": 1}, TUMOUR, ["notumor", "tumour", "tumour"]),
        ({"Tumour": 1, "Healthy": 1}, TUMOUR, ["notumor", "tumour"]),
        ({"tumors": 1}, TUMOUR, ["tumour"]),
    ],
    ids=[
        "four classes",
        "old names",
        "mixed case, two classes",
        "yes and no",
        "tumour and healthy",
        "tumour only",
    ],
)
def test_the_layout_is_read_from_the_folder_names(tmp_path, folders, kind, labels):
    labelled = find_labelled(write_labelled(tmp_path, folders))
    assert labelled.kind == kind
    assert labelled.labels == labels
    assert [path.parent.name.lower() for path in labelled.files] == sorted(
        name.lower() for name in folders for _ in range(folders[name])
    )


def test_hidden_files_and_folders_are_ignored_and_images_found_at_any_depth(tmp_path):
    write_labelled(tmp_path, {"glioma": 1, "notumor": 1})
    (tmp_path / "glioma" / "case7" / "slices").mkdir(parents=True)
    make_scan(0, 1).save(tmp_path / "glioma" / "case7" / "slices" / "deep.png")
    make_scan(0, 2).save(tmp_path / "glioma" / ".thumb.png")
    (tmp_path / ".cache").mkdir()  # not a label, but hidden
    make_scan(0, 3).save(tmp_path / ".cache" / "x.png")
    (tmp_path / "notumor" / "notes.txt").write_text("not an image")
    (tmp_path / ".DS_Store").write_bytes(b"")
    make_scan(0, 4).save(tmp_path / "loose.png")  # outside any label folder
    labelled = find_labelled(tmp_path)
    names = [path.relative_to(tmp_path).as_posix() for path in labelled.files]
    assert names == ["glioma/00.png", "glioma/case7/slices/deep.png", "notumor/00.png"]
    assert labelled.labels == ["glioma", "glioma", "notumor"]
    assert labelled.skipped == {".txt": 1} and labelled.unlabelled == 1


@pytest.mark.parametrize(
    "folders, message",
    [
        (
            {"Training": 1, "Testing": 1},
            r"not a label folder: Testing, Training in .*\(found: Testing, Training\)",
        ),
        ({"glioma": 1, "scans": 1}, r"not a label folder: scans .*found: glioma, scans"),
        ({"tumor": 1, "glioma": 1}, r"tumour folders mixed with tumour classes .*found: glioma, tumor"),
        ({}, r"no label folders in .*\(found: no sub-folders\)"),
        ({"glioma": 0, "no": 0}, r"no images in the label folders of .*found: glioma, no"),
    ],
    ids=["kaggle root", "unknown folder", "tumour and glioma", "no sub-folders", "no images"],
)
def test_a_folder_in_no_known_layout_is_refused_with_what_was_found(tmp_path, folders, message):
    with pytest.raises(DatasetError, match=message) as raised:
        find_labelled(write_labelled(tmp_path / "mine", folders) if folders else tmp_path)
    if not message.startswith("no images"):  # a layout error spells out the layouts it expects
        assert "glioma, meningioma, notumor, pituitary" in str(raised.value) and "yes and no" in str(
            raised.value
        )


def test_a_missing_folder_is_refused(tmp_path):
    with pytest.raises(DatasetError, match="folder not found: .*nowhere"):
        find_labelled(tmp_path / "nowhere")


def table(true: list[str], predicted: list[str], flagged: list[bool] | None = None) -> pd.DataFrame:
    """evaluate_folder's columns for one model "m"; a predicted label of None is a failed file."""
    flagged = flagged or [False] * len(true)
    return pd.DataFrame(
        {
            "file": [f"{i}.png" for i in range(len(true))],
            "true_label": true,
            "error": ["" if label else "broken" for label in predicted],
            "m_label": predicted,
            "m_confidence": [0.9] * len(true),
            "m_out_of_distribution": flagged,
            "m_too_small": [False] * len(true),
        }
    )


def assert_contains(interval, estimate: float) -> None:
    assert interval.estimate == pytest.approx(estimate)
    assert interval.low <= interval.estimate <= interval.high


def test_scores_by_class_give_accuracy_tumour_recall_and_specificity():
    true = ["glioma"] * 4 + ["meningioma"] * 2 + ["notumor"] * 4 + ["pituitary"] * 2
    predicted = ["glioma", "glioma", "meningioma", "notumor"]  # 2 right, 1 another tumour, 1 missed
    predicted += ["meningioma", "meningioma"] + ["notumor", "notumor", "notumor", "glioma"]
    predicted += ["pituitary", None]  # the last file failed
    figures = scores(table(true, predicted, flagged=[True] + [False] * 11), "m", CLASSES)
    assert (figures.images, figures.failed, figures.flagged, figures.too_small) == (11, 1, 1, 0)
    assert_contains(figures.accuracy, 8 / 11)
    assert_contains(figures.tumour_recall, 6 / 7)  # glioma called meningioma is still a tumour
    assert_contains(figures.specificity, 3 / 4)
    assert figures.headline.metric == "accuracy" and figures.headline.interval == figures.accuracy
    assert figures.axis == CLASS_NAMES
    assert figures.confusion == [[2, 1, 1, 0], [0, 2, 0, 0], [1, 0, 3, 0], [0, 0, 0, 1]]
    assert figures.class_images == {"glioma": 4, "meningioma": 2, "notumor": 4, "pituitary": 1}
    assert figures.class_correct == {"glioma": 2, "meningioma": 2, "notumor": 3, "pituitary": 1}


def test_scores_of_a_tumour_folder_count_any_tumour_class_as_right():
    true = [TUMOUR] * 4 + ["notumor"] * 2
    predicted = ["glioma", "pituitary", "meningioma", "notumor", "notumor", "glioma"]
    figures = scores(table(true, predicted), "m", TUMOUR)
    assert figures.accuracy is None and figures.axis == TUMOUR_AXIS
    assert_contains(figures.tumour_recall, 3 / 4)
    assert_contains(figures.specificity, 1 / 2)
    assert figures.headline.metric == "tumour recall"
    assert figures.confusion == [[3, 1], [1, 1]]
    assert figures.class_correct == {TUMOUR: 3, "notumor": 1}


def test_a_share_of_few_images_gets_an_interval_as_wide_as_they_leave_it():
    # 3 of 3 healthy slices right: a bootstrap's interval would be the point 100-100%; Wilson's
    # lower bound for all n of n right is n / (n + 1.96²).
    true = [TUMOUR] * 27 + ["notumor"] * 3
    figures = scores(table(true, ["glioma"] * 27 + ["notumor"] * 3), "m", TUMOUR)
    assert figures.specificity.estimate == 1.0 and figures.specificity.high == pytest.approx(1.0)
    assert figures.specificity.low == pytest.approx(3 / (3 + 1.959964**2))
    assert figures.tumour_recall.low == pytest.approx(27 / (27 + 1.959964**2))


def test_scores_leave_out_what_the_folder_has_none_of():
    only_healthy = scores(table(["notumor"] * 3, ["notumor", "notumor", "glioma"]), "m", TUMOUR)
    assert only_healthy.tumour_recall is None and only_healthy.headline.metric == "specificity"
    nothing_read = scores(table(["glioma"], [None]), "m", CLASSES)
    assert nothing_read.headline is None and nothing_read.failed == 1


def test_the_failures_are_the_wrong_and_the_flagged_images():
    true, predicted = [TUMOUR, TUMOUR, "notumor", "notumor"], ["glioma", "notumor", "notumor", None]
    failures = failure_table(table(true, predicted, flagged=[True, False, False, False]), "m", TUMOUR)
    assert failures["file"].tolist() == ["0.png", "1.png"]  # flagged, then missed; not the failed one
    assert failures["guard"].tolist() == [NOT_RECOGNISED, ""]
    assert failures["predicted"].tolist() == ["Glioma", "No tumor"]


def test_a_tumour_confusion_draws_two_by_two_with_counts_and_row_shares():
    from core.report.figures import ERROR_COLOR, confusion_figure, shade

    fig = confusion_figure([[3, 1], [0, 2]], normalize=False, color="#2563eb", classes=TUMOUR_AXIS)
    assert list(fig.data[0].text) == ["3", "1", "0", "2"]
    shades = [shade(0.75, "#2563eb"), shade(1.0, ERROR_COLOR), shade(0.0, ERROR_COLOR), shade(1.0, "#2563eb")]
    cells = [shape.fillcolor for shape in fig.layout.shapes]
    assert cells == shades  # right in the model's colour, wrong in red
    assert set(fig.data[0].x) == {"Tumour", "No tumor"}


@pytest.fixture(scope="module")
def predictor(tiny_cnn):
    return Predictor(*tiny_cnn)


def guard(threshold: float) -> Guard:
    """A guard on the tiny CNN's 128 features: +inf flags nothing, -1 flags everything."""
    return Guard(np.zeros((4, 128), np.float32), np.eye(128, dtype=np.float32), threshold)


def test_a_folder_is_evaluated_chunk_by_chunk_and_a_broken_file_is_reported(tiny_cnn, predictor, tmp_path):
    model, config = tiny_cnn
    folder = write_labelled(tmp_path / "mine", {"glioma": 2, "no_tumor": 2})
    (folder / "glioma" / "broken.png").write_bytes(b"not a png")  # cannot be decoded
    (folder / "no_tumor" / "gone.png").symlink_to(folder / "nowhere.png")  # cannot be read
    labelled = find_labelled(folder)
    progress = []
    evaluation = evaluate_folder(
        {"a": predictor, "b": predictor},
        {"a": Checker(model, guard(-1.0)), "b": Checker(model, guard(np.inf))},
        labelled,
        on_progress=lambda done, total: progress.append((done, total)),
        chunk_size=2,
    )
    assert progress == [(2, 6), (4, 6), (6, 6)]
    rows = evaluation.table.set_index("file")
    assert rows.index.tolist() == [
        "glioma/00.png",
        "glioma/01.png",
        "glioma/broken.png",
        "no_tumor/00.png",
        "no_tumor/01.png",
        "no_tumor/gone.png",
    ]
    assert rows["true_label"].tolist() == ["glioma"] * 3 + ["notumor"] * 3
    assert evaluation.unreadable["file"].tolist() == ["glioma/broken.png", "no_tumor/gone.png"]
    broken, gone = evaluation.unreadable["error"]
    assert "broken.png" in broken and gone.startswith("cannot read file")
    assert rows.loc[["glioma/broken.png", "no_tumor/gone.png"], ["a_label", "b_label"]].isna().all(axis=None)
    # The labels are the predictor's own for each file.
    expected = predictor.predict_file((folder / "glioma" / "00.png").read_bytes(), "00.png").probabilities
    assert rows.loc["glioma/00.png", "a_label"] == CLASS_NAMES[int(expected.argmax())]
    a, b = evaluation.scores["a"], evaluation.scores["b"]
    assert (a.images, a.failed, a.flagged, b.flagged) == (4, 2, 4, 0)  # each model's own guard
    assert a.accuracy == b.accuracy and a.kind == CLASSES
    correct = (rows["a_label"] == rows["true_label"]).sum()
    assert a.accuracy.estimate == pytest.approx(correct / 4)
    assert len(evaluation.failures("a")) == 4 and len(evaluation.failures("b")) == 4 - correct


def save_tiny_model(tiny_cnn, artifacts: Path) -> str:
    model, config = tiny_cnn
    model_dir = artifacts / config.name
    model_dir.mkdir(parents=True)
    model.save(model_dir / "model.keras")
    config.save(model_dir / "config.json")
    guard(threshold=np.inf).save(model_dir / "ood.npz")
    return config.name


def test_the_cli_evaluates_a_folder_with_saved_models(tiny_cnn, tmp_path, capsys):
    name = save_tiny_model(tiny_cnn, tmp_path / "artifacts")
    folder = write_labelled(tmp_path / "mine", {"yes": 2, "no": 1})
    (folder / "no" / "broken.jpg").write_bytes(b"")
    out = tmp_path / "results.csv"
    main([str(folder), "--model", name, "--artifacts", str(tmp_path / "artifacts"), "--out", str(out)])
    results = pd.read_csv(out, keep_default_na=False)
    assert results["file"].tolist() == ["no/00.png", "no/broken.jpg", "yes/00.png", "yes/01.png"]
    assert results["true_label"].tolist() == ["notumor", "notumor", TUMOUR, TUMOUR]
    printed = capsys.readouterr().out
    assert "4/4 images done" in printed and f"wrote {out}" in printed
    assert f"{name}: tumour recall " in printed and "on 3 images" in printed and "1 failed" in printed


@pytest.mark.parametrize(
    "argv, message",
    [
        (["{tmp}/nowhere"], "folder not found"),
        (["{tmp}/mine", "--out", "{tmp}/missing/results.csv"], "folder for --out not found"),
        (["{tmp}/mine", "--out", "{tmp}/mine"], "--out is a folder"),
    ],
    ids=["no folder", "no folder for --out", "--out a folder"],
)
def test_the_cli_checks_out_before_loading_any_model(tmp_path, monkeypatch, argv, message):
    def no_loading(*args, **kwargs):
        raise AssertionError("a model was loaded before the arguments were checked")

    monkeypatch.setattr(Predictor, "from_artifacts", no_loading)
    write_labelled(tmp_path / "mine", {"glioma": 1})
    with pytest.raises((DatasetError, FileNotFoundError), match=message):
        main([arg.format(tmp=tmp_path) for arg in argv])
