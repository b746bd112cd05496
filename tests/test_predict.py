import io

import numpy as np
import pytest
from PIL import Image

from conftest import make_scan
from core.data import ImageError
from core.predict import Predictor, predict_files


def encode(image: Image.Image, format: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=format)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def predictor(tiny_cnn):
    return Predictor(*tiny_cnn)


def test_predict_file_returns_image_probabilities_and_time(predictor):
    image, probabilities, ms = predictor.predict_file(encode(make_scan(0, 0, 300)), "scan.png")
    assert image.shape == (64, 64, 3)
    assert probabilities.shape == (4,) and probabilities.sum() == pytest.approx(1, abs=1e-5)
    assert ms > 0
    np.testing.assert_allclose(
        probabilities, predictor.model.predict(image[None].astype(np.float32), verbose=0)[0], atol=1e-5
    )


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
