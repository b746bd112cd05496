""" "New hospital" mode (core.evaluation.hospital, the Generalisation page's stream): the tally, the
folders it reads, the threshold it decides at, and the page streaming a folder."""

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_app import open_page

from conftest import make_scan
from core import artifacts, paths
from core.data.dataset import PROBABILITY_COLUMNS, DatasetError
from core.evaluation import curves, hospital


def test_the_tally_counts_found_missed_warned_and_false_alarms():
    tally = hospital.Tally()
    for file, tumour, called, flagged in [
        ("a", True, True, False), ("b", True, False, True), ("c", True, False, False),
        ("d", False, True, False), ("e", False, False, True),
    ]:  # fmt: skip
        tally.add(file, tumour, called, flagged)
    assert (tally.tumours, tally.found, tally.warned, tally.no_tumour, tally.false_alarms) == (3, 1, 1, 2, 1)
    assert tally.missed == ["b", "c"]
    assert tally.sentence() == (
        "Found 33.3% (1 of 3) tumours; missed 2, 1 of them with a warning; "
        "false alarms on 50.0% (1 of 2) no-tumour slices"
    )


def test_slices_come_from_label_folders_or_are_all_tumours_when_told(tmp_path):
    flat = tmp_path / "flat"
    flat.mkdir()
    make_scan(0, 1, 64).save(flat / "a.png")
    assert hospital.slices(flat, all_tumours=True) == ([(flat / "a.png", True)], False)
    with pytest.raises(DatasetError, match="no label folders"):
        hospital.slices(flat, all_tumours=False)
    labelled = tmp_path / "labelled"
    for folder in ("yes", "no"):
        (labelled / folder).mkdir(parents=True)
        make_scan(0, 1, 64).save(labelled / folder / "s.png")
    assert hospital.slices(labelled, all_tumours=True) == ([
        (labelled / "no" / "s.png", False), (labelled / "yes" / "s.png", True)
    ], True)  # fmt: skip
    (labelled / "Notes").mkdir()  # not a label, beside label folders: a mistake, not a flat folder
    with pytest.raises(DatasetError, match="not a label folder: Notes"):
        hospital.slices(labelled, all_tumours=True)
    with pytest.raises(DatasetError, match="not found"):
        hospital.slices(tmp_path / "nowhere", all_tumours=True)
    with pytest.raises(DatasetError, match="cannot read the folder"):
        hospital.slices(tmp_path / ("a" * 300), all_tumours=True)  # a name too long for the system
    with pytest.raises(DatasetError, match="not a folder but a file"):
        hospital.slices(flat / "a.png", all_tumours=True)
    with pytest.raises(DatasetError, match="cannot read the folder"):
        hospital.slices("~no-such-user-here/scans", all_tumours=True)


def test_where_the_server_says_which_folders_it_opens_no_other_is_read(tmp_path, monkeypatch):
    for name in ("open", "closed"):
        (tmp_path / name).mkdir()
        make_scan(0, 1, 64).save(tmp_path / name / "a.png")
    monkeypatch.setenv(paths.FOLDERS_ENV_VAR, str(tmp_path / "open"))
    assert hospital.slices(tmp_path / "open", all_tumours=True)[0] == [(tmp_path / "open" / "a.png", True)]
    (tmp_path / "open" / "loop").symlink_to(tmp_path / "open" / "loop")
    with pytest.raises(DatasetError, match="cannot read the folder"):
        hospital.slices(tmp_path / "open" / "loop", all_tumours=True)
    for outside in (tmp_path / "closed", tmp_path / "open" / ".." / "closed", Path("/")):
        with pytest.raises(
            DatasetError, match=re.escape(f"not in the folders this server opens (${paths.FOLDERS_ENV_VAR})")
        ):
            hospital.slices(outside, all_tumours=True)


def test_the_threshold_is_chosen_on_the_calibrated_validation_probabilities():
    rng = np.random.default_rng(0)
    probabilities = rng.dirichlet(np.ones(4), 200)
    validation = pd.DataFrame(probabilities, columns=PROBABILITY_COLUMNS)
    validation["true_label"] = ["notumor"] * 100 + ["glioma"] * 100
    assert hospital.operating_threshold(validation, 1.0) == curves.operating_threshold(validation)
    sharper = hospital.operating_threshold(validation, 0.5)
    notumor = validation[validation["true_label"] == "notumor"]
    scaled = hospital.calibrated(notumor[PROBABILITY_COLUMNS].to_numpy(), 0.5)
    kept = (1 - scaled[:, 2] <= sharper).mean()
    assert kept >= curves.TARGET_SPECIFICITY and sharper != curves.operating_threshold(validation)


def test_the_page_streams_a_labelled_folder_and_names_the_unreadable(tmp_path):
    for folder, label in (("tumor", 1), ("no_tumor", 2)):
        (tmp_path / folder).mkdir()
        for seed in range(2):
            make_scan(label, seed, 200).save(tmp_path / folder / f"{seed}.png")
    (tmp_path / "tumor" / "broken.png").write_bytes(b"not an image")
    app = open_page("pages/generalisation.py")
    app.text_input(key="hospital_folder").set_value(str(tmp_path)).run()
    app.button(key="hospital_stream").click().run()
    assert not app.exception, [e.message for e in app.exception]
    assert any("tumor/broken.png" in w.value for w in app.warning)
    found = [m.value for m in app.metric if m.label == "Tumours found"]
    assert len(found) == len(artifacts.available_models()) and all(v.endswith("of 2") for v in found)
    assert any("no-tumour slices" in c.value for c in app.caption)
    assert not any("No label folders" in i.value for i in app.info)


@pytest.mark.skipif(paths.external_dir() is None, reason="no external validation set beside the checkout")
def test_by_default_it_streams_the_external_set_and_shows_a_miss_with_its_maps():
    count = len(hospital.slices(paths.external_dir(), all_tumours=True)[0])
    app = open_page("pages/generalisation.py")
    assert app.text_input(key="hospital_folder").value == str(paths.external_dir())
    app.button(key="hospital_stream").click().run()
    assert not app.exception, [e.message for e in app.exception]
    assert any(i.value.startswith(f"No label folders in {paths.external_dir()}") for i in app.info)
    found = [m.value for m in app.metric if m.label == "Tumours found"]
    assert all(value.endswith(f"of {count}") for value in found)
    missed = app.selectbox(key="hospital_missed")
    missed.set_value(missed.options[0]).run()
    assert not app.exception and any(c.value.startswith("Missed by ") for c in app.caption)


def test_a_missed_slice_the_guards_refuse_gets_no_maps_as_an_upload_would(tmp_path):
    (tmp_path / "yes").mkdir()
    make_scan(2, 0, 256).save(tmp_path / "yes" / "blob.png")  # a bright square on noise: refused
    app = open_page("pages/generalisation.py")
    app.text_input(key="hospital_folder").set_value(str(tmp_path)).run()
    app.button(key="hospital_stream").click().run()
    missed = app.selectbox(key="hospital_missed")
    shown = len(app.image)
    missed.set_value("yes/blob.png").run()
    assert not app.exception, [e.message for e in app.exception]
    assert len(app.image) == shown and any("No maps" in info.value for info in app.info)
