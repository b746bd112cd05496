"""LiteRT copies predict what their Keras models predict, and Predictor falls back to Keras."""

import numpy as np
import pytest

from core import artifacts, paths
from core.data.dataset import PROBABILITY_COLUMNS, TEST_SPLIT, find_samples
from core.data.decode import load_images
from core.models import registry
from core.serving.litert import BatchCall, LiteRTModel, export
from core.serving.predict import Predictor

PARITY_ATOL = 1e-4  # float32 kernels differ in summation order, never by more than this


@pytest.fixture(scope="module")
def exported(tiny_cnn, tmp_path_factory):
    """The tiny CNN's .tflite files in a temporary folder, and their sizes."""
    folder = tmp_path_factory.mktemp("litert")
    return folder, export(tiny_cnn[0], folder, random_images(16, tiny_cnn[1].image_size, seed=9))


def random_images(count: int, size: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (count, size, size, 3), dtype=np.uint8)


def test_export_writes_float32_and_int8_files(exported):
    folder, sizes = exported
    assert set(sizes) == {artifacts.TFLITE_FILE, artifacts.TFLITE_INT8_FILE}
    for file, size in sizes.items():
        assert (folder / file).stat().st_size == size > 0
    assert sizes[artifacts.TFLITE_INT8_FILE] < sizes[artifacts.TFLITE_FILE] / 2
    assert not list(folder.glob("*.tmp"))


def test_litert_matches_keras_on_random_images(tiny_cnn, exported):
    model, config = tiny_cnn
    litert = LiteRTModel(exported[0] / artifacts.TFLITE_FILE)
    assert litert.image_size == config.image_size
    images = random_images(5, config.image_size)  # (5, 64, 64, 3)
    expected = model.predict(images.astype(np.float32), verbose=0)
    # Batch sizes change back and forth: the input tensor is resized each time.
    np.testing.assert_allclose(litert.probabilities(images), expected, atol=PARITY_ATOL)
    one_by_one = np.concatenate([litert.probabilities(image[None]) for image in images])
    np.testing.assert_allclose(one_by_one, expected, atol=PARITY_ATOL)
    np.testing.assert_allclose(litert.probabilities(images[:3]), expected[:3], atol=PARITY_ATOL)


def test_the_guard_reads_the_float32_copys_features_as_keras_computes_them(tiny_cnn, exported):
    from core.serving.ood import Checker, Guard

    model, config = tiny_cnn
    litert = LiteRTModel(exported[0] / artifacts.TFLITE_FILE)
    assert litert.has_features and not LiteRTModel(exported[0] / artifacts.TFLITE_INT8_FILE).has_features
    dimension = int(registry.features_and_probabilities(model).output[0].shape[-1])
    guard = Guard(np.zeros((4, dimension), np.float32), np.eye(dimension), 1.0)
    fast, keras_only = Checker(model, guard, exported[0] / artifacts.TFLITE_FILE), Checker(model, guard)
    assert fast._litert is not None and keras_only._litert is None
    images = random_images(3, config.image_size, seed=4)
    np.testing.assert_allclose(fast.features(images), keras_only.features(images), rtol=1e-4, atol=1e-4)
    # An int8 copy's features would be quantised: the guard falls back to Keras there.
    assert Checker(model, guard, exported[0] / artifacts.TFLITE_INT8_FILE)._litert is None


def test_the_int8_copy_is_fully_integer_and_takes_the_pixels_as_they_are(tiny_cnn, exported):
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(exported[0] / artifacts.TFLITE_INT8_FILE))
    (image_in,), (scores_out,) = interpreter.get_input_details(), interpreter.get_output_details()
    assert image_in["dtype"] == np.uint8 and scores_out["dtype"] == np.float32
    tensors, ops = interpreter.get_tensor_details(), interpreter._get_ops_details()
    computed = {op["op_name"]: tensors[op["outputs"][0]]["dtype"] for op in ops}
    assert computed["CONV_2D"] == computed["FULLY_CONNECTED"] == computed["SOFTMAX"] == np.int8
    assert [name for name, dtype in computed.items() if dtype == np.float32] == ["DEQUANTIZE"]  # the last op
    model, config = tiny_cnn
    images = random_images(8, config.image_size, seed=3)
    int8 = LiteRTModel(exported[0] / artifacts.TFLITE_INT8_FILE).probabilities(images)
    np.testing.assert_allclose(int8.sum(axis=1), 1, atol=0.02)
    np.testing.assert_allclose(int8, model.predict(images.astype(np.float32), verbose=0), atol=0.1)


def test_litert_refuses_images_of_the_wrong_size(exported):
    litert = LiteRTModel(exported[0] / artifacts.TFLITE_FILE)
    with pytest.raises(ValueError, match=r"expected \(N, 64, 64, 3\)"):
        litert.probabilities(random_images(1, 32))


def test_predictor_predicts_with_litert_when_its_file_loads(tiny_cnn, exported):
    model, config = tiny_cnn
    predictor = Predictor(model, config, tflite_path=exported[0] / artifacts.TFLITE_FILE)
    assert predictor.backend == "LiteRT" and predictor.model is model
    images = random_images(2, config.image_size, seed=1)
    np.testing.assert_allclose(
        predictor.probabilities(images), model.predict(images.astype(np.float32), verbose=0), atol=PARITY_ATOL
    )


def test_a_batch_call_computes_what_keras_computes_for_any_number_of_inputs(tiny_cnn):
    model, config = tiny_cnn
    call = BatchCall.of(model, batch_size=4)
    images = random_images(10, config.image_size, seed=5)  # batches of 4, 4 and 2: resized each time
    expected = model.predict(images.astype(np.float32), verbose=0)
    np.testing.assert_allclose(call(images), expected, atol=PARITY_ATOL)
    np.testing.assert_allclose(call(images[:1]), expected[:1], atol=PARITY_ATOL)
    assert call(images[:0]).shape == (0, *expected.shape[1:])


def test_a_batch_call_refuses_a_model_with_several_outputs(exported):
    with pytest.raises(ValueError, match="one input and one output"):
        BatchCall((exported[0] / artifacts.TFLITE_FILE).read_bytes())  # features and probabilities


def test_predictor_uses_keras_without_a_tflite_file(tiny_cnn, tmp_path):
    assert Predictor(*tiny_cnn).backend == "Keras"
    assert Predictor(*tiny_cnn, tflite_path=tmp_path / "missing.tflite").backend == "Keras"


@pytest.mark.parametrize("content", [b"", b"not a flatbuffer"], ids=["empty", "garbage"])
def test_predictor_falls_back_to_keras_when_the_tflite_file_is_corrupt(tiny_cnn, tmp_path, content):
    model, config = tiny_cnn
    path = tmp_path / "model.tflite"
    path.write_bytes(content)
    with pytest.warns(UserWarning, match="LiteRT model unusable"):
        predictor = Predictor(model, config, tflite_path=path)
    assert predictor.backend == "Keras"
    images = random_images(1, config.image_size, seed=2)
    np.testing.assert_allclose(
        predictor.probabilities(images), model.predict(images.astype(np.float32), verbose=0), atol=1e-5
    )


shipped_litert = pytest.mark.skipif(
    not (paths.data_dir() / TEST_SPLIT).is_dir()
    or not all(artifacts.tflite_path(name).is_file() for name in registry.names()),
    reason=f"needs the dataset (${paths.DATA_ENV_VAR}) and the .tflite files (python -m core litert)",
)


@shipped_litert
@pytest.mark.parametrize("name", registry.names())
def test_shipped_litert_model_matches_keras_on_every_test_image(name):
    config = artifacts.load_config(name)
    images, _, kept, _ = load_images(find_samples(paths.data_dir(), TEST_SPLIT), config.image_size)
    # predictions.csv holds the Keras model's probabilities for every test image (test_shipped_artifacts
    # re-predicts a sample with Keras); comparing with it spares a full Keras pass.
    table = artifacts.load_predictions(name).set_index("path")
    expected = table.loc[[s.relpath for s in kept], PROBABILITY_COLUMNS].to_numpy()
    litert = LiteRTModel(artifacts.tflite_path(name))
    probabilities = np.concatenate(
        [litert.probabilities(images[i : i + 64]) for i in range(0, len(images), 64)]
    )  # (N, 4)
    np.testing.assert_allclose(probabilities, expected, atol=PARITY_ATOL)
    disagree = [s.relpath for s, a, b in zip(kept, probabilities.argmax(1), expected.argmax(1)) if a != b]
    assert disagree == []


@shipped_litert
@pytest.mark.parametrize("name", registry.names())
def test_the_app_serves_an_int8_copy_only_where_it_gives_float32s_answers(name):
    """Where benchmark.json lets the app predict with the int8 copy, it changes at most
    litert.INT8_MAX_LABELS_CHANGED of the test labels; elsewhere the app uses float32."""
    from core.serving.litert import INT8_MAX_LABELS_CHANGED

    served = artifacts.serving_tflite(name)
    if served == artifacts.tflite_path(name):
        return  # float32 serves: nothing to hold the int8 copy to
    config = artifacts.load_config(name)
    images, _, _, _ = load_images(find_samples(paths.data_dir(), TEST_SPLIT), config.image_size)
    fp32, int8 = LiteRTModel(artifacts.tflite_path(name)), LiteRTModel(served)
    answers = [
        np.concatenate([m.probabilities(images[i : i + 64]).argmax(1) for i in range(0, len(images), 64)])
        for m in (fp32, int8)
    ]
    assert (answers[0] != answers[1]).mean() <= INT8_MAX_LABELS_CHANGED
