import dataclasses

import keras
import numpy as np
import pytest

from core.models import registry
from core.models.registry import (
    CUSTOM_CNN,
    MOBILENETV2,
    base_layers,
    build_custom_cnn,
    build_model,
    unfreeze_top,
)


@pytest.fixture(scope="module")
def mobilenet():
    return build_model(MOBILENETV2, weights=None)


def test_mobilenetv2_takes_raw_224_rgb_and_outputs_four_probabilities(mobilenet):
    assert mobilenet.input_shape == (None, 224, 224, 3)
    assert mobilenet.output_shape == (None, 4)
    probabilities = mobilenet.predict(np.full((2, 224, 224, 3), 255.0, np.float32), verbose=0)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)


def test_mobilenetv2_is_one_flat_graph_reaching_conv_1(mobilenet):
    names = [layer.name for layer in mobilenet.layers]
    assert registry.get("mobilenetv2").explain_layer == "Conv_1" and "Conv_1" in names
    assert not any(isinstance(layer, keras.Model) for layer in mobilenet.layers)
    # ImageNet base (2,257,984) + a 1280 -> 4 softmax head.
    assert mobilenet.count_params() == 2_257_984 + 1280 * 4 + 4


def test_phase_one_trains_only_the_head():
    model = build_model(MOBILENETV2, weights=None)
    assert [layer.name for layer in model.layers if layer.trainable_weights] == ["predictions"]


def test_phase_two_unfreezes_the_top_layers_but_keeps_batchnorm_frozen():
    model = build_model(MOBILENETV2, weights=None)
    unfreeze_top(model, 30)
    base = base_layers(model)
    top, rest = base[-30:], base[:-30]
    assert not any(layer.trainable_weights for layer in rest)
    assert all(
        not layer.trainable_weights for layer in top if isinstance(layer, keras.layers.BatchNormalization)
    )
    trained = [layer.name for layer in top if layer.trainable_weights]
    assert "Conv_1" in trained and "block_14_expand" in trained
    assert model.get_layer("predictions").trainable


def test_custom_cnn_shapes_and_layers():
    model = build_custom_cnn(CUSTOM_CNN)
    assert model.input_shape == (None, 128, 128, 3) and model.output_shape == (None, 4)
    kinds = {type(layer).__name__ for layer in model.layers}
    assert {"Conv2D", "BatchNormalization", "MaxPooling2D", "Dropout", "Flatten", "Dense"} <= kinds
    assert model.get_layer(registry.get("custom_cnn").explain_layer).output.shape[1:] == (8, 8, 256)
    assert all(layer.trainable for layer in model.layers)
    assert 500_000 < model.count_params() < 2_000_000


def test_unknown_architecture_is_refused():
    with pytest.raises(ValueError, match="unknown architecture 'vgg'"):
        build_model(dataclasses.replace(CUSTOM_CNN, architecture="vgg"))
