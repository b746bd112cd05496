"""The Misclassified explorer: buckets that partition the mistakes, per-model filters, sorting and
the CSV of the view (core.evaluation.compare on hand-made tables, then the page with AppTest)."""

import io

import numpy as np
import pandas as pd
import pytest
from streamlit.runtime.media_file_manager import MediaFileManager
from test_app import open_page
from test_compare import table

from core import artifacts
from core.data import subsets
from core.data.dataset import CLASS_NAMES
from core.evaluation import compare

NAMES = ["a", "b", "c"]
TITLES = {"a": "A", "b": "B", "c": "C"}
PAIR = ["glioma", "meningioma"]


@pytest.fixture
def joined():
    """Seven images; the models wrong on each: 1 a+b, 2 a, 3 b+c (c says pituitary), 4 a (not in the
    pair), 5 none, 6 a+b+c, 7 c."""
    predictions = {  # path -> true class, then each model's (answer, confidence)
        "1": ("glioma", ("meningioma", 0.9), ("meningioma", 0.5), ("glioma", 0.8)),
        "2": ("meningioma", ("glioma", 0.6), ("meningioma", 0.9), ("meningioma", 0.7)),
        "3": ("glioma", ("glioma", 0.8), ("meningioma", 0.95), ("pituitary", 0.6)),
        "4": ("notumor", ("pituitary", 0.7), ("notumor", 0.99), ("notumor", 0.9)),
        "5": ("pituitary", ("pituitary", 0.9), ("pituitary", 0.9), ("pituitary", 0.9)),
        "6": ("meningioma", ("glioma", 0.55), ("glioma", 0.65), ("glioma", 0.75)),
        "7": ("glioma", ("glioma", 0.65), ("glioma", 0.7), ("meningioma", 0.85)),
    }
    tables = {
        name: table([(path, true, *answers[i]) for path, (true, *answers) in predictions.items()])
        for i, name in enumerate(NAMES)
    }
    return compare.joined_predictions(tables)


def wrong_sets(cases: pd.DataFrame) -> dict[tuple[str, ...], list[str]]:
    """Each bucket's images, by the models it holds wrong."""
    return {
        bucket.wrong: compare.matching(cases, bucket.verdicts(NAMES))["path"].tolist()
        for bucket in compare.buckets(cases, NAMES)
    }


@pytest.mark.parametrize(
    "classes, expected",
    [
        (
            [],
            {("a",): ["4", "2"], ("b",): [], ("c",): ["7"], ("a", "b"): ["1"], ("a", "c"): [],
             ("b", "c"): ["3"], ("a", "b", "c"): ["6"]},
        ),
        (  # 3 stays: b's wrong answer is in the pair (c's, pituitary, is not); 4 is no tumour
            PAIR,
            {("a",): ["2"], ("b",): [], ("c",): ["7"], ("a", "b"): ["1"], ("a", "c"): [],
             ("b", "c"): ["3"], ("a", "b", "c"): ["6"]},
        ),
    ],
)  # fmt: skip
def test_the_buckets_partition_the_images_any_model_gets_wrong(joined, classes, expected):
    cases = compare.misclassified(joined, NAMES, classes, classes)
    found = wrong_sets(cases)
    assert found == expected
    assert sum(bucket.count for bucket in compare.buckets(cases, NAMES)) == len(cases)
    assert sorted(path for paths in found.values() for path in paths) == sorted(cases["path"])


def test_the_buckets_come_fewest_models_first(joined):
    cases = compare.misclassified(joined, NAMES, [], [])
    titles = [compare.verdicts_title(b.verdicts(NAMES), NAMES, TITLES) for b in compare.buckets(cases, NAMES)]
    assert titles == [
        "Only A wrong", "Only B wrong", "Only C wrong", "A and B wrong, C right", "A and C wrong, B right",
        "B and C wrong, A right", "All 3 wrong",
    ]  # fmt: skip


@pytest.mark.parametrize(
    "verdicts, classes, expected",
    [
        ({"a": "wrong", "b": "right"}, [], ["4", "2"]),
        ({"a": "wrong", "b": "right"}, PAIR, ["2"]),
        ({"a": "wrong", "b": "wrong", "c": "either"}, [], ["1", "6"]),
        ({"b": "right"}, PAIR, ["7", "2"]),
        ({"c": "wrong"}, PAIR, ["3", "7", "6"]),  # 3: b's meningioma answer puts it in the view
        ({"a": "right", "b": "right", "c": "right"}, [], []),
    ],
)
def test_per_model_verdicts_compose(joined, verdicts, classes, expected):
    cases = compare.matching(compare.misclassified(joined, NAMES, classes, classes), verdicts)
    assert cases["path"].tolist() == expected


@pytest.mark.parametrize(
    "verdicts, title",
    [
        ({}, "Any model wrong"),
        ({"a": "either", "b": "either"}, "Any model wrong"),
        ({"b": "wrong", "a": "right", "c": "right"}, "Only B wrong"),
        ({"a": "wrong", "b": "wrong", "c": "wrong"}, "All 3 wrong"),
        ({"a": "wrong", "b": "right"}, "A wrong, B right"),
        ({"c": "right"}, "C right"),
    ],
)
def test_a_choice_of_verdicts_is_named(verdicts, title):
    assert compare.verdicts_title(verdicts, NAMES, TITLES) == title


def test_two_models_are_named_both():
    assert compare.verdicts_title({"a": "wrong", "b": "wrong"}, ["a", "b"], TITLES) == "Both wrong"


@pytest.mark.parametrize(
    "label, expected",
    [
        ("the confidence of the wrong answer", ["3", "1", "7", "6", "4", "2"]),  # .95 .9 .85 .75 .7 .6
        ("A's confidence, highest first", ["1", "3", "4", "7", "2", "6"]),
        ("true class", ["3", "1", "7", "6", "2", "4"]),  # glioma, meningioma, no tumour
        ("disagreement: the most different answers first", ["3", "1", "7", "4", "2", "6"]),
        ("the number of models wrong, most first", ["6", "3", "1", "7", "4", "2"]),
    ],
)
def test_each_sort_orders_the_mistakes(joined, label, expected):
    sort = next(sort for sort in compare.sorts(NAMES, TITLES) if sort.label == label)
    cases = compare.misclassified(joined, NAMES, [], [])
    assert compare.sort_cases(cases, sort)["path"].tolist() == expected


def test_the_export_holds_the_rows_given_with_probabilities_subset_and_leak_status(joined):
    cases = compare.sort_cases(
        compare.misclassified(joined, NAMES, PAIR, PAIR), compare.sorts(NAMES, TITLES)[1]
    )
    export = compare.case_export(cases, NAMES, TITLES, subsets.CLEAN, {"1": "leaked", "2": "clean"})
    assert export["image"].tolist() == ["1", "3", "7", "2", "6"]
    assert export["leak status"].tolist() == ["leaked", compare.NOT_AUDITED, compare.NOT_AUDITED, "clean",
                                              compare.NOT_AUDITED]  # fmt: skip
    assert set(export["subset"]) == {"clean"}
    assert export.loc[export["image"] == "1", "A: P(Meningioma)"].item() == pytest.approx(0.9)
    assert export.loc[export["image"] == "1", "C: P(Glioma)"].item() == pytest.approx(0.8)
    assert len([column for column in export if ": P(" in column]) == len(NAMES) * len(CLASS_NAMES)


def test_the_export_refuses_an_unknown_subset(joined):
    with pytest.raises(ValueError, match="subset must be one of"):
        compare.case_export(joined.head(0), NAMES, TITLES, "Some images", {})


# --- the page, on the shipped artifacts (no dataset needed: the gallery says where to put it) ---


def shipped() -> pd.DataFrame:
    names = artifacts.available_models()
    return compare.joined_predictions({name: artifacts.load_predictions(name) for name in names})


def shown_images(app) -> list[str]:
    return app.dataframe[0].value["image"].tolist()


def count(app) -> int:
    sentence = next(m.value for m in app.markdown if "images, sorted by" in m.value)
    return int(sentence.split("**")[1].replace(",", ""))


@pytest.fixture
def downloads(monkeypatch) -> dict[str, bytes]:
    """What each run's download buttons serve, by file name (the last run's)."""
    served, add = {}, MediaFileManager.add

    def spy(self, data, mimetype, coordinates, file_name=None, is_for_static_download=False):
        if file_name:
            served[file_name] = data
        return add(self, data, mimetype, coordinates, file_name, is_for_static_download)

    monkeypatch.setattr(MediaFileManager, "add", spy)
    return served


def test_every_wrong_image_is_in_exactly_one_bucket_and_the_counts_add_up(tmp_path):
    app = open_page("pages/mistakes.py", data_dir=str(tmp_path / "nowhere"))
    which = app.selectbox(key="mistakes_which")
    names = artifacts.available_models()
    joined = shipped()
    correct = joined[[f"{name}_correct" for name in names]]
    labels = joined[[f"{name}_label" for name in names]]
    in_pair = joined["true_label"].isin(PAIR) & (~correct.to_numpy() & labels.isin(PAIR).to_numpy()).any(
        axis=1
    )
    any_wrong = set(joined.loc[in_pair, "path"])
    assert which.options[0] == f"Any model wrong ({len(any_wrong)})"
    assert count(app) == len(any_wrong) and set(shown_images(app)) == any_wrong

    seen = []
    for option in which.options[1:-1]:
        title = option.rsplit(" (", 1)[0]
        app.selectbox(key="mistakes_which").set_value(title).run()
        images = shown_images(app) if count(app) else []
        assert option == f"{title} ({len(images)})"
        seen += images
    assert len(which.options) == 2 + 2 ** len(names) - 1  # any, the buckets, per model
    assert sorted(seen) == sorted(any_wrong)  # every one reachable, none twice


def test_per_model_verdicts_with_the_class_filter_show_exactly_those_images(tmp_path):
    app = open_page("pages/mistakes.py", data_dir=str(tmp_path / "nowhere"))
    app.selectbox(key="mistakes_which").set_value("Pick per model…").run()
    first, second = artifacts.available_models()[:2]
    app.radio(key=f"mistakes_verdict_{first}").set_value("wrong").run()
    app.radio(key=f"mistakes_verdict_{second}").set_value("right").run()
    joined = shipped()
    expected = joined[
        ~joined[f"{first}_correct"]
        & joined[f"{first}_label"].isin(PAIR)
        & joined["true_label"].isin(PAIR)
        & joined[f"{second}_correct"]
    ]
    assert not app.exception
    assert set(shown_images(app)) == set(expected["path"]) and count(app) == len(expected) > 0


def test_sorting_by_the_first_models_confidence(tmp_path):
    app = open_page("pages/mistakes.py", data_dir=str(tmp_path / "nowhere"))
    first = artifacts.load_config(artifacts.available_models()[0]).display_name
    sort = app.selectbox(key="mistakes_sort")
    assert sort.options[:2] == ["The confidence of the wrong answer", f"{first}'s confidence, highest first"]
    sort.set_value(f"{first}'s confidence, highest first").run()
    shown = app.dataframe[0].value
    assert shown[f"{first}: confidence"].is_monotonic_decreasing
    assert not shown["confidence of the wrong answer"].is_monotonic_decreasing  # the order did change
    assert f"sorted by {first}'s confidence, highest first." in " ".join(m.value for m in app.markdown)


def test_the_confidences_shown_and_sorted_by_are_calibrated_as_the_galleries_show_them(tmp_path):
    from core.data.dataset import PROBABILITY_COLUMNS
    from core.evaluation.calibration import validation_temperature
    from core.serving.predict import calibrated

    app = open_page("pages/mistakes.py", data_dir=str(tmp_path / "nowhere"))
    shown = app.dataframe[0].value
    assert shown["confidence of the wrong answer"].is_monotonic_decreasing
    for name in artifacts.available_models():
        temperature = validation_temperature(artifacts.load_predictions(name, split="validation"))
        evaluated = (
            artifacts.load_predictions(name).set_index("path").loc[shown["image"], PROBABILITY_COLUMNS]
        )
        expected = calibrated(evaluated.to_numpy(float), temperature).max(axis=1)
        title = artifacts.load_config(name).display_name
        assert abs(temperature - 1) > 0.1  # calibration changes what is shown
        np.testing.assert_allclose(shown[f"{title}: confidence"], expected, rtol=1e-5)


@pytest.mark.parametrize("subset, status", [(subsets.FULL, None), (subsets.CLEAN, "in the clean subset")])
def test_the_download_is_every_row_of_the_view_in_its_order(tmp_path, downloads, subset, status):
    app = open_page("pages/mistakes.py", data_dir=str(tmp_path / "nowhere"), subset=subset)
    app.multiselect[0].set_value([]).run()
    app.multiselect[1].set_value([]).run()  # every class: more images than a gallery page holds
    app.selectbox(key="mistakes_sort").set_value("true class").run()
    export = pd.read_csv(io.BytesIO(downloads["misclassified.csv"]))
    assert export["image"].tolist() == shown_images(app)
    assert len(export) == count(app) > 24
    names = artifacts.available_models()
    assert len([column for column in export if ": P(" in column]) == len(names) * len(CLASS_NAMES)
    assert set(export["subset"]) == {compare.SUBSET_NAMES[subset]}
    statuses = set(export["leak status"])
    assert compare.NOT_AUDITED not in statuses
    if status:
        assert all(status in text for text in statuses)
    else:
        assert any("leaked" in text for text in statuses)
