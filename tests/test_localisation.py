"""Localisation scores: a CAM against a tumour box."""

import numpy as np
import pandas as pd
import pytest

from core.data.provenance import Box
from core.studies import localisation

SIDE = 100
BOX = Box(x_center=0.25, y_center=0.25, width=0.1, height=0.1)  # pixels 20..30 on both axes


def cam_with_peak_at(row: int, column: int) -> np.ndarray:
    cam = np.zeros((SIDE, SIDE), np.float32)
    cam[row, column] = 1.0
    return cam


def test_the_box_mask_grows_by_a_share_of_the_side_on_every_edge():
    assert localisation.box_mask(BOX, SIDE).sum() == 10 * 10
    assert localisation.box_mask(BOX, SIDE, grow=0.1).sum() == 30 * 30  # 10 px more on each edge


def test_the_pointing_game_counts_a_peak_in_the_grown_box_only():
    assert localisation.score(cam_with_peak_at(25, 25), BOX)["pointing"] == 1.0  # in the box
    assert localisation.score(cam_with_peak_at(12, 35), BOX)["pointing"] == 1.0  # within the 10% margin
    assert localisation.score(cam_with_peak_at(60, 60), BOX)["pointing"] == 0.0
    assert localisation.score(np.zeros((SIDE, SIDE)), BOX) == {"pointing": 0.0, "mass": 0.0, "iou": 0.0}


def test_mass_and_iou_of_a_map_that_half_covers_the_box():
    cam = np.zeros((SIDE, SIDE), np.float32)
    cam[20:30, 20:25] = 1.0  # the box's left half
    cam[60:70, 60:65] = 1.0  # as much again elsewhere
    scores = localisation.score(cam, BOX)
    assert scores["mass"] == pytest.approx(0.5)
    assert scores["iou"] == pytest.approx(50 / (100 + 50))  # hot 100 px, box 100, overlap 50


def test_the_summary_gives_intervals_per_class_and_the_paired_pointing_difference():
    rows = []
    for i in range(40):
        for model, hit in (("a", i % 2 == 0), ("b", i % 4 == 0)):  # a hits 20 images, b 10 of them
            rows.append(
                {
                    "path": f"{i}.jpg",
                    "model": model,
                    "method": "Grad-CAM++",
                    "label": "glioma" if i < 20 else "meningioma",
                    "clean": i < 30,
                    "pointing": float(hit),
                    "mass": 0.1,
                    "iou": 0.05,
                }
            )
    result = localisation.summary(pd.DataFrame(rows), compared=["a", "b"])
    full = result["models"]["a"]["Grad-CAM++"]["full"]
    assert full["pointing"]["estimate"] == 0.5 and full["pointing"]["low"] < 0.5 < full["pointing"]["high"]
    assert full["pointing_per_class"] == {"glioma": 0.5, "meningioma": 0.5}
    assert result["images"] == {"full": 40, "clean": 30}
    paired = result["paired"]["Grad-CAM++"]["full"]
    assert paired["only_a"] == 10 and paired["only_b"] == 0
    assert paired["difference"]["estimate"] == pytest.approx(0.25) and paired["p_value"] < 0.01


def test_measure_scores_each_image_for_its_true_class(tiny_cnn):
    from conftest import make_scan
    from core.serving.gradcam import Explainer

    model, config = tiny_cnn
    images = np.stack([np.asarray(make_scan(label, 0, config.image_size).convert("RGB")) for label in (0, 1)])
    table = localisation.measure(
        Explainer(model, "conv5"), images, np.array([0, 1]), [BOX, BOX], "Grad-CAM++"
    )
    assert list(table.columns) == list(localisation.SCORES) and len(table) == 2
    assert table.isin([0.0, 1.0])["pointing"].all() and ((table["mass"] >= 0) & (table["mass"] <= 1)).all()


def test_one_sided_lists_the_images_where_only_one_model_points_at_the_tumour():
    table = pd.DataFrame(
        {
            "path": ["1.jpg", "1.jpg", "2.jpg", "2.jpg", "3.jpg", "3.jpg"],
            "model": ["a", "b"] * 3,
            "method": "Grad-CAM++",
            "label": "glioma",
            "clean": True,
            "pointing": [1.0, 0.0, 1.0, 1.0, 0.0, 1.0],
            "mass": [0.4, 0.1, 0.3, 0.3, 0.0, 0.2],
        }
    )
    found = localisation.one_sided(table, "Grad-CAM++", "a", "b", {"a": "A", "b": "B"})
    assert found["Test image"].tolist() == ["1.jpg", "3.jpg"]
    assert found["On the tumour"].tolist() == ["A", "B"]
    assert found["A: mass in box"].tolist() == [0.4, 0.0]


def test_a_drawn_box_frames_the_tumour_and_leaves_the_rest():
    image = np.zeros((SIDE, SIDE, 3), np.uint8)
    drawn = localisation.draw_box(image, BOX)
    assert drawn[20, 25, 1] == 255 and drawn[25, 25].sum() == 0 and drawn[60, 60].sum() == 0
    assert image.sum() == 0  # a copy
