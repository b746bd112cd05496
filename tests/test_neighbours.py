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
def feature_network():
    """(network, scans): the feature network untrained (no ImageNet weights in tests), and 6 glioma
    then 6 no-tumour scans at its 224 px."""
    from conftest import make_scan
    from core.serving.neighbours import feature_model

    scans = np.stack(
        [np.asarray(make_scan(label, seed, 224).convert("RGB")) for label in (0, 2) for seed in range(6)]
    )
    return feature_model(weights=None), scans


LABELS = np.array([0] * 6 + [NOTUMOR] * 6)  # of feature_network's scans


def keras_call(network):
    from core.models.registry import compiled

    call = compiled(network)
    return lambda images: np.asarray(call(np.asarray(images, np.float32)))


def test_the_features_are_imagenet_mobilenetv2s_last_layer_pooled(feature_network):
    from core.serving.neighbours import FEATURE_LAYER

    network, scans = feature_network
    assert (
        network.layers[-2].name == FEATURE_LAYER
        and type(network.layers[-1]).__name__ == "GlobalAveragePooling2D"
    )
    assert network.output.shape == (None, 1280)
    assert keras_call(network)(scans[:2]).shape == (2, 1280)


def test_an_upload_at_another_size_is_resized_to_the_networks():
    from core.serving.neighbours import at_feature_size

    image = np.full((96, 96, 3), 200, np.uint8)
    assert at_feature_size(image).shape == (224, 224, 3) and (at_feature_size(image) == 200).all()
    same = np.zeros((224, 224, 3), np.uint8)
    assert at_feature_size(same) is same


def test_an_upload_whose_nearest_training_images_are_tumours_gets_a_warning_on_no_tumor(feature_network):
    from core.serving.neighbours import NeighbourCheck

    network, scans = feature_network
    features = keras_call(network)
    check = NeighbourCheck(features, fit(features(scans), LABELS))
    tumour_like = scans[0]
    warning = check.warning(tumour_like, {"Model A": "notumor", "Model B": "glioma"})
    assert warning.startswith("Model A says *no tumor*") and "of the 5 training images" in warning
    assert check.warning(tumour_like, {"Model A": "glioma"}) is None  # no "no tumor" to doubt
    assert check.warning(scans[-1], {"Model A": "notumor"}) is None  # its neighbours are healthy


def test_the_litert_copy_of_the_feature_network_gives_keras_warnings(feature_network):
    from core.serving.litert import BatchCall, converted
    from core.serving.neighbours import NeighbourCheck

    network, scans = feature_network
    keras_features, copy = keras_call(network), BatchCall(converted(network))
    np.testing.assert_allclose(copy(scans), keras_features(scans), atol=1e-4)
    reference = fit(keras_features(scans), LABELS)
    with_copy, keras_only = NeighbourCheck(copy, reference), NeighbourCheck(keras_features, reference)
    for scan in scans:
        assert with_copy.warning(scan, {"A": "notumor"}) == keras_only.warning(scan, {"A": "notumor"})
    assert with_copy.warning(scans[0], {"A": "notumor"}) is not None


def test_the_command_writes_a_reference_and_copy_the_check_loads(tmp_path, monkeypatch):
    from conftest import write_dataset
    from core import artifacts, paths
    from core.serving import neighbours

    data = write_dataset(tmp_path / "data")
    monkeypatch.setattr(paths, "imagenet_weights", lambda flag=None: None)  # tests have no ImageNet file
    neighbours.main(["--data", str(data), "--artifacts", str(tmp_path / "out")])
    check = neighbours.NeighbourCheck.from_artifacts(tmp_path / "out")
    assert check.reference.features.shape == (24, 1280)
    assert check.reference.tumour.sum() == 18  # three tumour classes of six images each
    assert check.warning(np.zeros((224, 224, 3), np.uint8), {"A": "glioma"}) is None  # nothing to doubt
    answer = check.warning(np.full((96, 96, 3), 90, np.uint8), {"A": "notumor"})  # resized, through the copy
    assert answer is None or "training images most like this scan are tumours" in answer

    from core.serving.neighbours import Neighbours

    Neighbours(check.reference.features[:, :96], check.reference.tumour).save(
        tmp_path / "out" / artifacts.NEIGHBOURS_FILE
    )
    with pytest.raises(artifacts.DamagedArtifactError, match="gives \\(1280,\\) features.*holds \\(96,\\)"):
        neighbours.NeighbourCheck.from_artifacts(tmp_path / "out")  # one file rewritten without the other

    (tmp_path / "out" / artifacts.NEIGHBOURS_TFLITE_FILE).write_bytes(b"not a flatbuffer")
    with pytest.raises(artifacts.DamagedArtifactError, match="python -m core neighbours"):
        neighbours.NeighbourCheck.from_artifacts(tmp_path / "out")
    (tmp_path / "out" / artifacts.NEIGHBOURS_TFLITE_FILE).unlink()
    assert (
        artifacts.unless_missing(lambda: neighbours.NeighbourCheck.from_artifacts(tmp_path / "out")) is None
    )
