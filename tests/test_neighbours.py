"""The nearest training images' second opinion on a "no tumor" answer."""

import numpy as np
import pytest

from core.serving.neighbours import NOTUMOR, K, fit


def reference():
    """Tumours around +x, no-tumour slices around +y (unnormalised, as a network gives them)."""
    rng = np.random.default_rng(0)
    tumours = np.array([10.0, 0.0]) + rng.normal(0, 1, (20, 2))
    healthy = np.array([0.0, 10.0]) + rng.normal(0, 1, (20, 2))
    labels = np.array([0] * 10 + [3] * 10 + [NOTUMOR] * 20)
    return fit(np.concatenate([tumours, healthy]), labels)


def test_the_share_counts_tumours_among_the_k_nearest_by_direction():
    neighbours = reference()
    shares = neighbours.tumour_share(np.array([[100.0, 1.0], [0.5, 30.0]]))  # scale does not matter
    assert shares.tolist() == [1.0, 0.0]
    assert neighbours.features.dtype == np.float16
    assert np.allclose(np.linalg.norm(neighbours.features.astype(np.float32), axis=1), 1, atol=1e-3)
    assert K == 5


def test_only_a_no_tumour_answer_among_tumour_neighbours_is_doubted():
    neighbours = reference()
    near_tumours, near_healthy = [10.0, 0.5], [0.5, 10.0]
    features = np.array([near_tumours, near_tumours, near_healthy])
    predicted = np.array([NOTUMOR, 0, NOTUMOR])
    assert neighbours.doubts(predicted, features).tolist() == [True, False, False]


def test_the_reference_survives_a_save_and_load(tmp_path):
    from core.serving.neighbours import Neighbours

    neighbours = reference()
    neighbours.save(tmp_path / "n.npz")
    loaded = Neighbours.load(tmp_path / "n.npz")
    assert (loaded.features == neighbours.features).all() and (loaded.tumour == neighbours.tumour).all()


@pytest.fixture(scope="module")
def small_mobilenetv2():
    """(model, config, scans): an untrained MobileNetV2 at 96 px, 6 glioma then 6 no-tumour scans."""
    import dataclasses

    from conftest import make_scan
    from core.models.registry import MOBILENETV2, build_model

    config = dataclasses.replace(MOBILENETV2, image_size=96)
    scans = np.stack(
        [np.asarray(make_scan(label, seed, 96).convert("RGB")) for label in (0, 2) for seed in range(6)]
    )
    return build_model(config, weights=None), config, scans


LABELS = np.array([0] * 6 + [NOTUMOR] * 6)  # of small_mobilenetv2's scans


def test_an_upload_whose_nearest_training_images_are_tumours_gets_a_warning_on_no_tumor(small_mobilenetv2):
    from core.serving.neighbours import NeighbourCheck, feature_call

    model, config, scans = small_mobilenetv2
    features = feature_call(model, config.fine_tune_layers)(scans)
    check = NeighbourCheck(model, config.fine_tune_layers, fit(features, LABELS))
    tumour_like = scans[0]
    warning = check.warning(tumour_like, {"Model A": "notumor", "Model B": "glioma"})
    assert warning.startswith("Model A says *no tumor*") and "of the 5 training images" in warning
    assert check.warning(tumour_like, {"Model A": "glioma"}) is None  # no "no tumor" to doubt
    assert check.warning(scans[-1], {"Model A": "notumor"}) is None  # its neighbours are healthy


def test_the_litert_copy_of_the_feature_network_gives_the_same_warnings(small_mobilenetv2, tmp_path):
    from core.serving.litert import converted
    from core.serving.neighbours import NeighbourCheck, feature_call, feature_model

    model, config, scans = small_mobilenetv2
    copy = tmp_path / "neighbours.tflite"
    copy.write_bytes(converted(feature_model(model, config.fine_tune_layers)))
    keras_features = feature_call(model, config.fine_tune_layers)(scans)
    copy_features = feature_call(model, config.fine_tune_layers, copy)(scans)
    np.testing.assert_allclose(copy_features, keras_features, atol=1e-4)
    reference = fit(keras_features, LABELS)
    with_copy = NeighbourCheck(model, config.fine_tune_layers, reference, copy)
    keras_only = NeighbourCheck(model, config.fine_tune_layers, reference)
    for scan in scans:
        assert with_copy.warning(scan, {"A": "notumor"}) == keras_only.warning(scan, {"A": "notumor"})
    assert with_copy.warning(scans[0], {"A": "notumor"}) is not None


def test_an_unusable_litert_copy_falls_back_to_keras_with_a_warning(small_mobilenetv2, tmp_path):
    from core.serving.neighbours import feature_call

    model, config, scans = small_mobilenetv2
    copy = tmp_path / "neighbours.tflite"
    copy.write_bytes(b"not a flatbuffer")
    with pytest.warns(UserWarning, match="LiteRT copy unusable"):
        call = feature_call(model, config.fine_tune_layers, copy)
    assert call(scans[:2]).shape[0] == 2
