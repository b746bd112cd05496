"""Live prediction's example tray and "What if" sliders (core.evaluation.examples, core.data.perturb):
the pickers on made-up tables, the image changes on arrays, and the page in AppTest."""

import io

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from test_app import open_page

from core import artifacts, paths
from core.data import perturb
from core.data.dataset import CLASS_NAMES
from core.evaluation import compare, examples
from core.serving.predict import NOT_RECOGNISED

needs_dataset = pytest.mark.skipif(
    not (paths.data_dir() / "Testing").is_dir(), reason=f"dataset not found; set {paths.DATA_ENV_VAR}"
)


def _table(labels: list[str], predicted: list[str], confidence: list[float]) -> pd.DataFrame:
    rows = []
    for i, (true, guess, sure) in enumerate(zip(labels, predicted, confidence)):
        probabilities = {f"prob_{c}": (sure if c == guess else (1 - sure) / 3) for c in CLASS_NAMES}
        rows.append(
            {"path": f"Testing/{true}/{i}.jpg", "true_label": true, "predicted_label": guess, **probabilities}
        )
    return pd.DataFrame(rows)


def test_the_tray_picks_the_surest_clean_case_the_most_disputed_meningioma_and_a_leak():
    truth = ["glioma", "glioma", "meningioma", "meningioma"]
    joined = compare.joined_predictions(
        {
            "a": _table(truth, ["glioma", "glioma", "meningioma", "glioma"], [0.9, 0.99, 0.8, 0.6]),
            "b": _table(truth, ["glioma", "glioma", "notumor", "pituitary"], [0.95, 0.97, 0.7, 0.5]),
            "c": _table(truth, ["glioma", "glioma", "meningioma", "notumor"], [0.99, 0.98, 0.9, 0.7]),
        }
    )
    audit = {
        "test_images": [
            {"path": "Testing/glioma/0.jpg", "near": False, "exact": False, "nearest_train": "t0"},
            {"path": "Testing/glioma/1.jpg", "near": True, "exact": True,
             "nearest_train": "Training/glioma/9.jpg"},
            {"path": "Testing/meningioma/2.jpg", "near": False, "exact": False, "nearest_train": "t2"},
            {"path": "Testing/meningioma/3.jpg", "near": False, "exact": False, "nearest_train": "t3"},
        ]
    }  # fmt: skip
    tray = {example.key: example for example in examples.pick(joined, ["a", "b", "c"], audit)}
    assert list(tray) == ["easy", "disputed", "leaked", "photo"]
    assert tray["easy"].path == "Testing/glioma/0.jpg"  # 1.jpg is surer, but leaked
    assert tray["disputed"].path == "Testing/meningioma/3.jpg" and "3 ways" in tray["disputed"].title
    assert (tray["leaked"].path, tray["leaked"].twin) == ("Testing/glioma/1.jpg", "Training/glioma/9.jpg")
    assert [e.key for e in examples.pick(joined, ["a"], None)] == ["easy", "photo"]  # no audit, one model


def test_the_photo_is_a_picture_in_colour():
    image = np.asarray(Image.open(io.BytesIO(examples.photo_bytes())))
    assert image.shape == (256, 256, 3) and np.abs(image[..., 0].astype(int) - image[..., 2]).mean() > 40


def test_what_if_changes_only_what_it_says():
    image = np.random.default_rng(0).integers(40, 200, (64, 64, 3), dtype=np.uint8)
    image[..., 1:] = image[..., :1]  # grey
    assert perturb.apply(image, perturb.WhatIf()) is image and perturb.WhatIf().describe() == ""
    harsh = perturb.apply(image, perturb.WhatIf(contrast=1.5))
    assert harsh.std() > image.std() and abs(float(harsh.mean()) - float(image.mean())) < 3
    noisy = perturb.WhatIf(noise=10)
    assert np.array_equal(perturb.apply(image, noisy, seed=1), perturb.apply(image, noisy, seed=1))
    assert (perturb.apply(image, noisy)[..., 0] == perturb.apply(image, noisy)[..., 2]).all()  # still grey
    turned = perturb.apply(image, perturb.WhatIf(rotation=90))
    assert np.array_equal(turned, np.rot90(image))
    shaded = perturb.apply(image, perturb.WhatIf(bias=0.5)).astype(float)
    assert (
        np.allclose(shaded[:, 0], image[:, 0], atol=1) and shaded[:, -1].mean() < 0.55 * image[:, -1].mean()
    )
    assert perturb.WhatIf(contrast=1.5, rotation=10).describe() == "contrast ×1.5, rotation 10°"


def _answers(app) -> list[str]:
    return [m.value for m in app.metric if m.label == "Prediction"]


def _image_captions(app) -> list[str]:
    return [shown.caption for image in app.image for shown in image.proto.imgs]


def _predict_page():
    app = open_page("pages/predict.py", data_dir=str(paths.data_dir()))
    assert not app.exception, [e.message for e in app.exception]
    return app


def test_the_photo_example_is_refused_by_the_guard():
    app = _predict_page()
    app.button_group[0].set_value("photo").run()
    assert not app.exception, [e.message for e in app.exception]
    assert any("does not look like the brain MRI slices" in w.value for w in app.warning)
    assert _answers(app) == [NOT_RECOGNISED] * len(artifacts.available_models())
    assert any("no brain MRI slice" in i.value for i in app.info)


@needs_dataset
def test_the_dataset_examples_show_what_they_promise_and_an_upload_takes_over():
    app = _predict_page()
    tray = {e.key: e for e in examples.pick(
        compare.joined_predictions({n: artifacts.load_predictions(n) for n in artifacts.available_models()}),
        artifacts.available_models(), artifacts.load_audit(),
        examples.flagged_paths(artifacts.available_models()))}  # fmt: skip
    app.button_group[0].set_value("disputed").run()
    assert not app.exception and len(set(_answers(app))) == int(tray["disputed"].title.split()[3])
    app.button_group[0].set_value("leaked").run()
    assert f"Its twin in Training: {tray['leaked'].twin}" in _image_captions(app)
    path = paths.data_dir() / tray["easy"].path
    app.get_by_key("single_upload").set_value(("mine.jpg", path.read_bytes(), "image/jpeg")).run()
    assert not app.exception and "mine.jpg" in _image_captions(app)
    app.button_group[0].set_value("easy").run()  # the tray, used last, shows its case again
    assert path.name in _image_captions(app)


@needs_dataset
def test_what_if_sliders_change_the_image_every_model_answers():
    app = _predict_page()
    app.button_group[0].set_value("easy").run()
    before = [m.delta for m in app.metric if m.label == "Prediction"]
    app.slider(key="whatif_noise").set_value(40.0).run()
    app.slider(key="whatif_rotation").set_value(30.0).run()
    assert not app.exception, [e.message for e in app.exception]
    assert any(c.value == "Answers to the image changed by noise σ 40, rotation 30°." for c in app.caption)
    assert len(_answers(app)) == len(artifacts.available_models())
    assert [m.delta for m in app.metric if m.label == "Prediction"] != before  # the confidences moved
