"""What Live prediction's warnings catch (core.studies.warnings)."""

import json

import pytest

from conftest import needs_dataset, write_dataset
from core import artifacts, paths
from core.evaluation import calibration, examples
from core.records import WarningsSummary
from core.report import external
from core.studies import warnings

QUIET = dict.fromkeys(warnings.RULES, False)


def _shown(*answers: str, **fired: bool) -> warnings.Shown:
    rules = {k.replace("_", " "): v for k, v in fired.items()}
    assert set(rules) <= set(warnings.RULES)
    return warnings.Shown(dict(zip("abc", answers)), QUIET | rules)


def test_a_no_tumour_answer_is_silent_only_when_no_rule_fires():
    assert _shown("notumor", "glioma").no_tumour
    assert _shown("notumor", "notumor").unwarned_no_tumour
    assert not _shown("notumor", "glioma", disagreement=True).unwarned_no_tumour
    assert not _shown("notumor", "notumor", leaning_to_a_tumour=True).unwarned_no_tumour
    assert not _shown("glioma", "meningioma").unwarned_no_tumour  # no "no tumor" to warn about
    assert not _shown("notumor", "notumor", guard=True).no_tumour  # refused: no label is shown


def test_the_summary_counts_silent_misses_outside_and_false_alarms_on_right_answers():
    external_set = {
        "x/one.jpg": _shown("notumor", "notumor"),  # missed in silence
        "x/two.jpg": _shown("notumor", "glioma", disagreement=True),
        "x/three.jpg": _shown("glioma", "glioma"),
    }
    test = {
        "Testing/glioma/a.jpg": (_shown("glioma", "glioma", guard=True), "glioma"),  # right, warned
        "Testing/notumor/b.jpg": (_shown("notumor", "notumor", nearest_training_images=True), "notumor"),
        "Testing/glioma/c.jpg": (_shown("glioma", "glioma"), "glioma"),
        "Testing/glioma/d.jpg": (_shown("notumor", "glioma", disagreement=True), "glioma"),  # not right
    }
    found = WarningsSummary.from_json(warnings.summarise(external_set, test))
    assert (found.external_images, found.external_no_tumour, found.unwarned) == (3, 2, ("one.jpg",))
    assert (found.test_images, found.test_right) == (4, 3)
    assert found.false_alarms == {
        "guard": 1,
        "disagreement": 0,
        "leaning to a tumour": 0,
        "nearest training images": 1,
        "any": 2,
    }
    text = external.warnings_sentence(found)
    assert "**1 (33%) with no warning at all**" in text and "over the target of at most 2%" in text
    assert "(guard, disagreement, leaning to a tumour or nearest training images;" in text
    assert "2 (66.7%) get a warning all the same" in text


@pytest.fixture(scope="module")
def server():
    return warnings.Server(artifacts.available_models())


@needs_dataset
def test_the_shipped_models_refuse_a_photo_and_answer_a_slice_as_the_page_does(server):
    photo = server.show(examples.photo_bytes(), examples.PHOTO_NAME)
    assert photo.warned["guard"] and not photo.no_tumour
    slice_ = server.show((paths.data_dir() / "Testing/pituitary/Te-pi_0010.jpg").read_bytes(), "scan.jpg")
    assert not slice_.warned["guard"] and set(slice_.answers) == set(artifacts.available_models())
    for name, predictor in server.predictors.items():  # the leaning rule reads what the page shows
        validation = artifacts.load_predictions(name, split="validation")
        assert predictor.temperature == calibration.validation_temperature(validation) != 1.0


def test_the_command_writes_the_summary_and_skips_unreadable_files(tmp_path, monkeypatch):
    monkeypatch.setattr(warnings, "Server", lambda names, root: _FakeServer())
    folder = tmp_path / "external"
    folder.mkdir()
    (folder / "broken.jpg").write_bytes(b"not an image")
    (folder / "slice.png").write_bytes(b"fine")
    data = write_dataset(tmp_path / "data", per_class=1)
    warnings.main(["--external", str(folder), "--data", str(data), "--artifacts", str(tmp_path)])
    written = json.loads((tmp_path / artifacts.WARNINGS_FILE).read_text())
    assert written["external"] == {"images": 1, "no_tumour": 1, "unwarned": ["slice.png"]}
    assert written["test"]["images"] == 4 and written["test"]["right"] == 1  # the notumor image


class _FakeServer:
    """Calls everything "no tumor" with no warning; a file of b"not an image" is unreadable."""

    def show(self, data: bytes, name: str) -> warnings.Shown:
        from core.data.imagefile import ImageError

        if data == b"not an image":
            raise ImageError(f"not an image: {name}")
        return _shown("notumor", "notumor")


def test_a_missing_external_folder_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="external set not found"):
        warnings.main(["--external", str(tmp_path / "absent"), "--artifacts", str(tmp_path)])


def test_the_shipped_summary_is_said_on_the_generalisation_page():
    from test_app import open_page

    app = open_page("pages/generalisation.py")
    shown = external.warnings_sentence(artifacts.load_warnings())
    assert any(m.value == shown for m in app.markdown)
