import numpy as np
import pytest

from core.models import registry
from core.serving.gradcam import METHODS, Explainer, overlay


def test_overlay_blends_at_the_given_opacity_and_any_size():
    image = np.full((50, 70, 3), 100, np.uint8)
    heatmap = np.zeros((8, 8), np.float32)
    assert np.array_equal(overlay(image, heatmap, 0.0), image)
    blended = overlay(image, heatmap, 1.0)
    assert blended.shape == (50, 70, 3) and blended.dtype == np.uint8
    assert tuple(blended[0, 0]) == (0, 0, 127)  # jet at 0 is dark blue
    hot = overlay(image, np.ones((8, 8), np.float32), 1.0)
    assert tuple(hot[0, 0]) == (127, 0, 0)  # jet at 1 is dark red
    middle = overlay(image, np.full((8, 8), 0.5, np.float32), 1.0)
    np.testing.assert_allclose(middle[0, 0], (127, 255, 127), atol=3)  # light green


@pytest.mark.parametrize(
    "image, opacity, message",
    [(np.zeros((4, 4, 3), np.uint8), 1.5, "opacity"), (np.zeros((4, 4), np.uint8), 0.5, "must be")],
)
def test_overlay_refuses_bad_arguments(image, opacity, message):
    with pytest.raises(ValueError, match=message):
        overlay(image, np.zeros((2, 2)), opacity)


@pytest.mark.parametrize("method", METHODS)
def test_every_cam_method_runs_on_a_custom_cnn(tiny_cnn, method):
    model, config = tiny_cnn
    explainer = Explainer(model, registry.get(config.architecture).explain_layer)
    image = np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8)
    heatmap = explainer.heatmap(image, class_index=1, method=method)
    assert heatmap.shape == (64, 64) and heatmap.min() >= 0 and heatmap.max() <= 1


def test_unknown_method_is_refused(tiny_cnn):
    with pytest.raises(ValueError, match="unknown CAM method 'LIME'"):
        Explainer(*tiny_cnn[:1], "conv5").heatmap(np.zeros((64, 64, 3), np.uint8), 0, "LIME")


def test_split_refuses_a_model_that_branches_after_the_layer():
    import keras

    from core.serving.gradcam import split_at

    inputs = keras.Input((16, 16, 3))
    conv = keras.layers.Conv2D(4, 3, padding="same", name="conv")(inputs)
    skip = keras.layers.Add(name="skip")([conv, keras.layers.Conv2D(4, 1, name="side")(conv)])
    outputs = keras.layers.Dense(2)(keras.layers.GlobalAveragePooling2D()(skip))
    with pytest.raises(ValueError, match="not a chain"):
        split_at(keras.Model(inputs, outputs), "conv")
