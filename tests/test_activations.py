"""Training's cached activations of the frozen layers (core.training.activations)."""

import keras
import numpy as np

from core.models.registry import split_below_top
from core.serving import litert
from core.training.activations import activations, frozen_layers, in_batches


def _trunk(tiny_cnn) -> keras.Model:
    model, _ = tiny_cnn
    return split_below_top(model, 4)[0]  # the layers below a top of four, as MobileNetV2's base


def test_the_litert_copy_gives_keras_activations_over_batches_of_any_size(tiny_cnn):
    trunk, config = _trunk(tiny_cnn), tiny_cnn[1]
    images = np.random.default_rng(0).integers(0, 256, (70, 64, 64, 3)).astype(np.uint8)
    frozen = frozen_layers(trunk, config)
    assert isinstance(frozen, litert.FrozenLayers)
    found = activations(frozen, in_batches(images, size=32))  # 32, 32, then 6: resized each time
    expected = np.asarray(trunk(images.astype(np.float32), training=False))
    assert found.shape == expected.shape == (70, *trunk.output.shape[1:])
    np.testing.assert_allclose(found, expected, atol=1e-4 * np.abs(expected).max())


def test_keras_computes_them_where_litert_cannot_convert(tiny_cnn, monkeypatch, capsys):
    def fails(model):
        raise ValueError("no converter here")

    monkeypatch.setattr(litert, "FrozenLayers", fails)
    trunk, config = _trunk(tiny_cnn), tiny_cnn[1]
    frozen = frozen_layers(trunk, config)
    assert "LiteRT could not convert the frozen layers (no converter here)" in capsys.readouterr().out
    images = np.zeros((3, 64, 64, 3), np.uint8)
    np.testing.assert_allclose(
        activations(frozen, [images]), np.asarray(trunk(images.astype(np.float32), training=False)), atol=1e-5
    )
