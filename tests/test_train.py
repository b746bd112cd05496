"""One-epoch runs on a tiny synthetic dataset: the whole train -> evaluate -> save path."""

import dataclasses
import json

import numpy as np
import pandas as pd
import pytest

from core import artifacts
from core.data.dataset import CLASS_NAMES, PROBABILITY_COLUMNS, TEST_SPLIT, find_samples
from core.data.decode import decode_image, load_images
from core.evaluation.evaluate import metrics_from_predictions
from core.models import registry
from core.models.config import FLOAT32, MIXED_BFLOAT16, ModelConfig
from core.models.registry import CUSTOM_CNN, MOBILENETV2
from core.training import callbacks, train

TINY = {
    "mobilenetv2": dataclasses.replace(
        MOBILENETV2, image_size=96, epochs=1, fine_tune_epochs=1, batch_size=8
    ),
    "custom_cnn": dataclasses.replace(CUSTOM_CNN, image_size=64, epochs=1, batch_size=8),
}


@pytest.fixture(scope="module", autouse=True)
def decode_cache(tmp_path_factory):
    """Every run here caches its decoded images in a temporary folder, never in ~/.cache."""
    from core.data.cache import CACHE_ENV_VAR

    folder = tmp_path_factory.mktemp("decode-cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(CACHE_ENV_VAR, str(folder))
        yield folder


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """Both tiny models trained once, into one artifacts folder."""
    from conftest import write_dataset

    root = tmp_path_factory.mktemp("run")
    data = write_dataset(root / "data")
    for config in TINY.values():
        train.train(config, data, root / "artifacts", weights=None)
    return data, root / "artifacts"


@pytest.mark.parametrize("name", TINY)
def test_a_run_writes_a_complete_artifact_folder(trained, name):
    _, root = trained
    assert name in artifacts.available_models(root)
    assert artifacts.load_config(name, root) == TINY[name]
    history = artifacts.load_history(name, root)
    expected_phases = ["head", "fine-tune"] if name == "mobilenetv2" else ["train"]
    assert [phase["name"] for phase in history["phases"]] == expected_phases
    assert [record["epoch"] for record in history["epochs"]] == list(range(1, len(expected_phases) + 1))
    assert {"loss", "accuracy", "val_loss", "val_accuracy", "learning_rate"} <= set(history["epochs"][0])
    assert all(record["wall_time_s"] > 0 for record in history["epochs"])
    manifest = artifacts.load_manifest(name, root)
    assert manifest["seed"] == 42 and manifest["dataset"]["test_images"] == 24
    wall_time = manifest["wall_time_s"]
    extra = ["activations", "augmented activations"] if name == "mobilenetv2" else []
    assert list(wall_time) == ["decode", *extra, "export", *expected_phases, "evaluation", "total"]
    assert sum(wall_time.values()) - wall_time["total"] <= wall_time["total"]  # disjoint parts
    assert manifest["strategy"] is None
    assert "keras" in manifest["versions"] and manifest["cpu"]
    metrics = artifacts.load_metrics(name, root)
    assert metrics.model.file_size_mb > 0  # latency is benchmarks.inference's, not evaluation's
    assert artifacts.tflite_path(name, root).is_file()  # the app's LiteRT copy comes with the run
    assert metrics.accuracy == pytest.approx(
        metrics_from_predictions(artifacts.load_predictions(name, root)).accuracy
    )


@pytest.mark.parametrize("name", TINY)
def test_saved_model_predicts_what_the_run_recorded(trained, name):
    data, root = trained
    config = TINY[name]
    images, _, kept, _ = load_images(find_samples(data, TEST_SPLIT), config.image_size)
    reloaded = artifacts.load_model(name, root).predict(images.astype(np.float32), verbose=0)
    recorded = artifacts.load_predictions(name, root)
    assert recorded["path"].tolist() == [s.relpath for s in kept]
    np.testing.assert_allclose(reloaded, recorded[PROBABILITY_COLUMNS].to_numpy(), atol=1e-5)


def test_mobilenetv2_training_changes_only_the_head_and_the_top_layers(trained):
    import keras

    from core.models.registry import base_layers, build_model

    _, root = trained
    config = TINY["mobilenetv2"]
    keras.utils.set_random_seed(config.seed)  # as train() does before building: same initial weights
    initial, trained_model = build_model(config, weights=None), artifacts.load_model("mobilenetv2", root)

    def changed(layer_name: str) -> bool:
        before = initial.get_layer(layer_name).get_weights()
        after = trained_model.get_layer(layer_name).get_weights()
        return any(not np.array_equal(b, a) for b, a in zip(before, after))

    top = {layer.name for layer in base_layers(initial)[-config.fine_tune_layers :]}
    frozen = [layer.name for layer in base_layers(initial) if layer.weights and layer.name not in top]
    assert frozen and not any(changed(name) for name in frozen)
    assert not changed("Conv_1_bn")  # BatchNorm stays frozen even in the fine-tuned top
    assert changed("Conv_1") and changed("block_16_project") and changed("predictions")


def test_an_interrupted_run_leaves_previous_artifacts_intact(trained, monkeypatch):
    data, root = trained
    before = {file: (root / "custom_cnn" / file).read_bytes() for file in artifacts.ARTIFACT_FILES}

    def crash(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(train, "evaluate", crash)  # dies after the model file was staged
    with pytest.raises(KeyboardInterrupt):
        train.train(TINY["custom_cnn"], data, root, weights=None)
    after = {file: (root / "custom_cnn" / file).read_bytes() for file in artifacts.ARTIFACT_FILES}
    assert after == before
    assert sorted(p.name for p in root.iterdir()) == ["custom_cnn", "mobilenetv2"]


def test_fine_tuning_on_cached_activations_matches_the_whole_model():
    import keras

    from core.models.registry import build_model, split_below_top, unfreeze_top

    config = dataclasses.replace(MOBILENETV2, image_size=32, dropout=0.0)
    images = np.random.default_rng(0).integers(0, 256, (8, 32, 32, 3)).astype(np.float32)
    labels = keras.utils.to_categorical(np.arange(8) % 4, 4)
    whole = build_model(config)
    cached = build_model(config)
    cached.set_weights(whole.get_weights())
    initial = whole.get_weights()
    for model in (whole, cached):
        unfreeze_top(model, config.fine_tune_layers)
    trunk, top = split_below_top(cached, config.fine_tune_layers)
    assert len(top.trainable_weights) == len(whole.trainable_weights) > 2  # the top and the head
    for model, inputs in ((whole, images), (top, trunk.predict(images, verbose=0))):
        model.compile(optimizer=keras.optimizers.SGD(0.5), loss="categorical_crossentropy")
        model.train_on_batch(inputs, labels)
    changed = [not np.array_equal(a, b) for a, b in zip(initial, whole.get_weights())]
    assert 0 < sum(changed) < len(changed)  # one step moved the top, not the trunk
    for a, b in zip(whole.get_weights(), cached.get_weights()):
        np.testing.assert_allclose(a, b, atol=1e-5)


def test_seeds_give_distinct_runs_and_the_first_is_served(tmp_path):
    from conftest import write_dataset

    data, out = write_dataset(tmp_path / "data"), tmp_path / "out"
    train.train(TINY["custom_cnn"], data, out, weights=None, seeds=2)
    served, other = artifacts.seed_runs("custom_cnn", out)
    assert other == served / "runs" / "seed-43"
    assert (served / artifacts.MODEL_FILE).is_file() and (other / artifacts.MODEL_FILE).is_file()
    assert not (other / artifacts.GUARD_FILE).exists() and not (other / artifacts.TFLITE_FILE).exists()
    runs = artifacts.load_run_predictions("custom_cnn", out)
    assert sorted(runs) == [42, 43]
    assert not np.allclose(runs[42][PROBABILITY_COLUMNS], runs[43][PROBABILITY_COLUMNS])
    validation = [pd.read_csv(folder / artifacts.VALIDATION_FILE)["path"] for folder in (served, other)]
    assert validation[0].tolist() == validation[1].tolist()  # the same split for every seed


def test_keep_runs_trains_only_the_missing_seeds_of_the_same_config(tmp_path, monkeypatch):
    from conftest import write_dataset

    data, out = write_dataset(tmp_path / "data"), tmp_path / "out"
    config = TINY["custom_cnn"]
    train.train(config, data, out, weights=None, seeds=2)
    before = {seed: table.copy() for seed, table in artifacts.load_run_predictions("custom_cnn", out).items()}
    trained_seeds = []
    real_run = train._train_run

    def counted_run(config, *args, **kwargs):
        trained_seeds.append(config.seed)
        real_run(config, *args, **kwargs)

    monkeypatch.setattr(train, "_train_run", counted_run)
    train.train(config, data, out, weights=None, seeds=3, keep_runs=True)
    assert trained_seeds == [44]
    after = artifacts.load_run_predictions("custom_cnn", out)
    assert sorted(after) == [42, 43, 44]
    for seed in (42, 43):  # kept as they were, the served model with them
        pd.testing.assert_frame_equal(after[seed], before[seed])
    assert "custom_cnn" in artifacts.available_models(out)

    trained_seeds.clear()  # another config (here more epochs) keeps nothing
    train.train(dataclasses.replace(config, epochs=2), data, out, weights=None, seeds=1, keep_runs=True)
    assert trained_seeds == [42]
    assert artifacts.seed_runs("custom_cnn", out) == [out / "custom_cnn"]


def test_the_cosine_schedule_falls_from_the_rate_to_the_floor():
    config = dataclasses.replace(CUSTOM_CNN, epochs=5, learning_rate=1e-3, min_learning_rate=1e-6)
    rates = [callbacks.cosine_rate(epoch, config) for epoch in range(config.epochs)]
    assert rates[0] == pytest.approx(1e-3) and rates[-1] == pytest.approx(1e-6)
    assert rates == sorted(rates, reverse=True) and rates[2] == pytest.approx((1e-3 + 1e-6) / 2)


def test_max_epochs_env_var_caps_every_phase(monkeypatch):
    monkeypatch.setenv("BRAIN_MRI_MAX_EPOCHS", "2")
    capped = MOBILENETV2.capped()
    assert (capped.epochs, capped.fine_tune_epochs) == (2, 2)
    monkeypatch.delenv("BRAIN_MRI_MAX_EPOCHS")
    assert MOBILENETV2.capped() == MOBILENETV2


def test_config_round_trips_through_json(tmp_path):
    MOBILENETV2.save(tmp_path / "config.json")
    assert ModelConfig.load(tmp_path / "config.json") == MOBILENETV2
    assert json.loads((tmp_path / "config.json").read_text())["fine_tune_layers"] == 64


def test_settings_change_named_fields_and_refuse_anything_else():
    tried = CUSTOM_CNN.with_settings(
        ["intensity_augmentation=true", "inversion_probability=0", 'learning_rate_schedule="cosine"']
    )
    assert (tried.intensity_augmentation, tried.inversion_probability) == (True, 0.0)
    assert tried.learning_rate_schedule == "cosine" and tried.epochs == CUSTOM_CNN.epochs
    assert CUSTOM_CNN.with_settings([]) == CUSTOM_CNN
    for bad, message in (
        ("colour=1", "not FIELD=VALUE with a config field"),
        ("epochs", "not FIELD=VALUE"),
        ("epochs=ten", "not a JSON value"),
        ("intensity_augmentation=1", "takes a bool"),
        ("epochs=2.5", "takes a int"),
    ):
        with pytest.raises(ValueError, match=message):
            CUSTOM_CNN.with_settings([bad])


def test_cli_trains_the_recipe_its_settings_name_and_refuses_a_bad_one(tmp_path, monkeypatch, capsys):
    configs = []
    monkeypatch.setattr(train, "train", lambda config, *args: configs.append(config))
    argv = ["--model", "custom_cnn", "--data", str(tmp_path), "--set", "intensity_augmentation=true"]
    train.main([*argv, "--set", "intensity_strength=0.5"])
    assert (configs[0].intensity_augmentation, configs[0].intensity_strength) == (True, 0.5)
    with pytest.raises(SystemExit):
        train.main([*argv, "--set", "strength=0.5"])
    assert "not FIELD=VALUE with a config field: 'strength=0.5'" in capsys.readouterr().err
    assert len(configs) == 1


def test_cli_trains_the_named_model(tmp_path, monkeypatch):
    from conftest import write_dataset

    data = write_dataset(tmp_path / "data")
    monkeypatch.setenv("BRAIN_MRI_MAX_EPOCHS", "1")
    tiny = dataclasses.replace(TINY["custom_cnn"], epochs=5)
    tiny = dataclasses.replace(registry.get("custom_cnn"), config=tiny)
    monkeypatch.setitem(registry._REGISTRY, "custom_cnn", tiny)
    train.main(["--model", "custom_cnn", "--data", str(data), "--artifacts", str(tmp_path / "out")])
    assert artifacts.available_models(tmp_path / "out") == ["custom_cnn"]
    assert len(artifacts.load_history("custom_cnn", tmp_path / "out")["epochs"]) == 1


def test_evaluate_cli_reproduces_the_recorded_metrics(trained):
    from core.evaluation import evaluate

    data, root = trained
    before = artifacts.load_metrics("custom_cnn", root)
    evaluate.main(["--model", "custom_cnn", "--data", str(data), "--artifacts", str(root)])
    after = artifacts.load_metrics("custom_cnn", root)
    assert after.model == before.model
    assert after.confusion_matrix == before.confusion_matrix
    assert after.accuracy == pytest.approx(before.accuracy)


def test_cli_names_a_missing_dataset_in_one_line(tmp_path):
    from core import cli

    with pytest.raises(SystemExit, match="error: dataset folder not found: .*nowhere"):
        cli.run(lambda: train.main(["--model", "custom_cnn", "--data", str(tmp_path / "nowhere")]))


def test_training_and_evaluation_decode_through_the_cache(trained, decode_cache):
    # <split>-<fingerprint>-<size>px-<decoder>.npz: training's two parts, then evaluation's test set
    entries = sorted(tuple(path.name.rsplit("-", 3)[0:3:2]) for path in decode_cache.iterdir())
    parts = ("Testing", "Training-fit", "Training-val")
    assert entries == [(part, f"{size}px") for part in parts for size in (64, 96)]


def test_a_mirrored_strategy_run_writes_complete_artifacts(tmp_path):
    """The one-phase trainer under MirroredStrategy; MobileNetV2's two phases under a strategy's
    scope are the multi-worker test's (below)."""
    from conftest import write_dataset

    data = write_dataset(tmp_path / "data")
    train.train(TINY["custom_cnn"], data, tmp_path / "out", weights=None, strategy="mirrored")
    assert artifacts.available_models(tmp_path / "out") == ["custom_cnn"]
    assert artifacts.load_manifest("custom_cnn", tmp_path / "out")["strategy"] == "mirrored"
    assert len(artifacts.load_history("custom_cnn", tmp_path / "out")["epochs"]) == 1
    assert artifacts.load_metrics("custom_cnn", tmp_path / "out").n_images == 24


def test_a_mixed_precision_run_computes_in_bfloat16_and_saves_a_float32_model(tmp_path, monkeypatch):
    import keras

    from conftest import write_dataset

    data = write_dataset(tmp_path / "data")
    config = dataclasses.replace(TINY["custom_cnn"], precision=MIXED_BFLOAT16)
    trained_in = []
    one_phase = train._train_one_phase

    def recording(model, *args):
        trained_in.append(
            (model.get_layer("conv1").compute_dtype, model.get_layer("predictions").compute_dtype)
        )
        return one_phase(model, *args)

    fit_model = train.fit_model
    returned = []

    def returning(*args, **kwargs):
        model, records, phases = fit_model(*args, **kwargs)
        returned.append(model.get_layer("conv1").compute_dtype)
        return model, records, phases

    monkeypatch.setattr(train, "_train_one_phase", recording)
    monkeypatch.setattr(train, "fit_model", returning)
    train.train(config, data, tmp_path / "out", weights=None)
    assert trained_in == [("bfloat16", "float32")]  # the probabilities the loss reads stay float32
    assert returned == ["float32"]  # what evaluation and the studies run: the trained weights in float32
    assert keras.config.dtype_policy().name == FLOAT32  # the policy is restored after training
    saved = artifacts.load_model("custom_cnn", tmp_path / "out")
    assert {layer.compute_dtype for layer in saved.layers} == {FLOAT32}
    assert artifacts.load_config("custom_cnn", tmp_path / "out").precision == MIXED_BFLOAT16
    images, _, _, _ = load_images(find_samples(data, TEST_SPLIT), config.image_size)
    recorded = artifacts.load_predictions("custom_cnn", tmp_path / "out")[PROBABILITY_COLUMNS]
    np.testing.assert_allclose(saved.predict(images.astype(np.float32), verbose=0), recorded, atol=1e-5)


def test_a_precision_is_one_keras_trains_in_and_bfloat16_is_for_one_phase_models():
    with pytest.raises(ValueError, match="precision 'bfloat16': expected one of float32, mixed_bfloat16"):
        dataclasses.replace(CUSTOM_CNN, precision="bfloat16")
    with pytest.raises(ValueError, match="expected one of"):
        CUSTOM_CNN.with_settings(['precision="mixed_float16"'])
    two_phase = dataclasses.replace(TINY["mobilenetv2"], precision=MIXED_BFLOAT16)
    with pytest.raises(ValueError, match="mobilenetv2: precision 'mixed_bfloat16' is for one-phase models"):
        train.fit_model(two_phase, fit=None, val=None, weights=None)


def test_the_dtype_policy_is_restored_when_training_fails():
    import keras

    with pytest.raises(KeyboardInterrupt), train.dtype_policy(MIXED_BFLOAT16):
        assert keras.config.dtype_policy().name == MIXED_BFLOAT16
        raise KeyboardInterrupt
    assert keras.config.dtype_policy().name == FLOAT32


def test_an_unknown_strategy_is_named():
    with pytest.raises(ValueError, match="unknown strategy 'tpu'; expected one of mirrored"):
        train.distribution_strategy("tpu")


def test_cli_passes_no_cache_and_strategy(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(train, "train", lambda *args: calls.append(args[-4:]))
    argv = ["--model", "custom_cnn", "--data", str(tmp_path)]
    train.main([*argv, "--no-cache", "--strategy", "mirrored", "--seeds", "3", "--keep-runs"])
    train.main(argv)
    assert calls == [(False, "mirrored", 3, True), (True, None, 1, False)]


def keras_layers_in_turn(images, config, seed=7):
    """What the study's four Keras layers do one after another, and the parameters they drew."""
    import keras

    layers = [
        keras.layers.RandomRotation(config.rotation_degrees / 360, fill_mode="constant", seed=seed),
        keras.layers.RandomTranslation(
            config.shift_fraction, config.shift_fraction, fill_mode="constant", seed=seed + 1
        ),
        keras.layers.RandomZoom(config.zoom_fraction, fill_mode="constant", seed=seed + 2),
        keras.layers.RandomFlip("horizontal", seed=seed + 3),
    ]
    drawn = [layer.get_random_transformation(images, training=True) for layer in layers]
    for layer, transformation in zip(layers, drawn):
        images = layer.transform_images(images, transformation, training=True)
    return images, drawn


def test_one_combined_affine_equals_the_keras_layers_in_turn_inside_the_frame():
    import math

    import tensorflow as tf

    from core.training.pipeline import affine_transforms

    size = 64
    rows, cols = np.mgrid[0:size, 0:size].astype(np.float32)
    ramps = np.stack([cols * 3, rows * 3, (rows + cols) * 1.5], axis=-1)  # bilinear is exact on these
    images = tf.constant(np.repeat(ramps[None], 8, axis=0))  # (8, 64, 64, 3)
    expected, (rotation, translation, zoom, flip) = keras_layers_in_turn(images, CUSTOM_CNN)
    transforms = affine_transforms(
        rotation["angle"] * math.pi / 180,
        translation["translations"],
        zoom["height_zoom"][:, 0],
        tf.reshape(flip["flips"], [-1]),
        size,
        size,
    )
    combined = tf.raw_ops.ImageProjectiveTransformV3(
        images=images,
        transforms=transforms,
        output_shape=[size, size],
        fill_value=0.0,
        interpolation="BILINEAR",
        fill_mode="CONSTANT",
    )
    assert 0 < np.count_nonzero(flip["flips"]) < 8  # both branches are covered
    inside = slice(14, -14)  # farther from the edges than any shift, zoom or rotation reaches
    np.testing.assert_allclose(combined[:, inside, inside], expected[:, inside, inside], atol=1e-2)


def test_random_affine_draws_within_the_configured_ranges_and_repeats_with_its_seed():
    import tensorflow as tf

    from core.training.pipeline import random_affine

    config = dataclasses.replace(CUSTOM_CNN, rotation_degrees=0.0, zoom_fraction=0.0, horizontal_flip=False)
    size = 40
    cols = np.broadcast_to(np.arange(size, dtype=np.float32)[None, :, None], (size, size, 3))
    images = tf.constant(np.repeat(cols[None] + 100, 256, axis=0))  # (256, 40, 40, 3): x + 100
    shifted = random_affine(images, config, tf.constant([1, 2])).numpy()
    # Pure shifts: the centre pixel reads x + 100 from (centre - dx), so dx is recoverable.
    dx = size // 2 - (shifted[:, size // 2, size // 2, 0] - 100)
    assert np.abs(dx).max() <= config.shift_fraction * size + 1e-3
    assert dx.min() < -0.5 * config.shift_fraction * size and dx.max() > 0.5 * config.shift_fraction * size
    again = random_affine(images, config, tf.constant([1, 2])).numpy()
    other = random_affine(images, config, tf.constant([1, 3])).numpy()
    np.testing.assert_array_equal(again, shifted)
    assert not np.array_equal(other, shifted)


def test_training_batches_are_augmented_differently_each_epoch_and_the_same_each_run():
    from core.training.pipeline import dataset

    config = dataclasses.replace(CUSTOM_CNN, batch_size=4)
    images = np.random.default_rng(0).integers(0, 255, (8, 32, 32, 3), dtype=np.uint8)
    labels = np.arange(8) % 4

    def epochs(ds):
        return [np.concatenate([x.numpy() for x, _ in ds]) for _ in range(2)]

    first, second = epochs(dataset(images, labels, config, training=True))
    rerun, _ = epochs(dataset(images, labels, config, training=True))
    assert not np.array_equal(first, second)
    np.testing.assert_array_equal(first, rerun)
    plain = np.concatenate([x.numpy() for x, _ in dataset(images, labels, config, training=False)])
    np.testing.assert_array_equal(plain, images.astype(np.float32))


def test_the_embedding_map_places_every_image_and_an_upload_lands_where_its_features_say(trained):
    from core.serving.ood import Checker, load_guard
    from core.studies import embedding

    data, root = trained
    embedding.main(["--model", "custom_cnn", "--data", str(data), "--artifacts", str(root), "--no-cache"])
    arrays = artifacts.load_dataset_arrays(artifacts.EMBEDDING_FILE, root)
    coords = arrays["custom_cnn__coords"]
    assert coords.shape == (len(arrays["path"]), 2) and "mobilenetv2__coords" not in arrays
    training = arrays["split"] == "Training"
    assert training.sum() == 24 and (~training).sum() == 24
    assert np.allclose(coords[training].mean(axis=0), 0, atol=1e-3)  # the axes are the training images'
    assert set(arrays["custom_cnn__predicted"]) <= set(CLASS_NAMES)
    first_test = int(np.flatnonzero(~training)[0])
    image = decode_image(data / arrays["path"][first_test], TINY["custom_cnn"].image_size)
    checker = Checker(artifacts.load_model("custom_cnn", root), load_guard("custom_cnn", root))
    placed = embedding.project(
        checker.features(image[None]), arrays["custom_cnn__mean"], arrays["custom_cnn__components"]
    )
    assert np.allclose(placed[0], coords[first_test], atol=1e-3 * max(1.0, np.abs(coords).max()))


@pytest.mark.parametrize("gpu", [False, True], ids=["LiteRT on a CPU", "Keras where a GPU is seen"])
def test_the_frozen_layers_outputs_are_the_keras_trunks_on_either_path(monkeypatch, gpu):
    import tensorflow as tf

    config = TINY["mobilenetv2"]
    trunk, _ = registry.split_below_top(registry.build_model(config, None), config.fine_tune_layers)
    if gpu:
        monkeypatch.setattr(tf.config, "list_physical_devices", lambda kind=None: ["GPU:0"])
    frozen = train.frozen_layers(trunk)
    assert isinstance(frozen, train.litert.BatchCall) != gpu
    images = np.random.default_rng(0).integers(0, 256, (70, 96, 96, 3), dtype=np.uint8)  # 64 + 6
    expected = np.asarray(registry.predict_batches(trunk, images))
    np.testing.assert_allclose(frozen(images), expected, atol=1e-3)
    np.testing.assert_allclose(frozen(images[:3]), expected[:3], atol=1e-3)


def localhost_cluster(workers: int) -> list[str]:
    """Each worker's TF_CONFIG for a cluster of `workers` on localhost, as a user gives one on each
    machine: every worker's address (a free port each), and its own index."""
    import socket

    ports = []
    for _ in range(workers):
        with socket.socket() as probe:
            probe.bind(("localhost", 0))
            ports.append(probe.getsockname()[1])
    cluster = {"worker": [f"localhost:{port}" for port in ports]}
    return [json.dumps({"cluster": cluster, "task": {"type": "worker", "index": i}}) for i in range(workers)]


def two_workers(tmp_path, commands: list[list[str]]) -> tuple[list[int], str]:
    """Start `python -m core train` with each worker's arguments as a cluster of two on localhost, as a
    user would on two machines (TF_CONFIG naming both, and each its own index); (exit codes, logs)."""
    import os
    import subprocess
    import sys
    import time

    workers, logs = [], [tmp_path / f"worker-{index}.log" for index in range(len(commands))]
    for arguments, log, tf_config in zip(commands, logs, localhost_cluster(len(commands))):
        env = {**os.environ, "TF_CONFIG": tf_config, "BRAIN_MRI_PROGRESS": ""}
        with log.open("w") as output:
            command = [
                sys.executable,
                "-m",
                "core",
                "train",
                "--no-cache",
                "--strategy",
                "multiworker",
                *arguments,
            ]
            workers.append(subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT))
    deadline = time.monotonic() + 300
    try:
        codes = [worker.wait(timeout=max(1, deadline - time.monotonic())) for worker in workers]
    finally:
        for worker in workers:
            worker.kill()
    return codes, "\n".join(log.read_text()[-3000:] for log in logs)


@pytest.mark.parametrize("name", TINY)
def test_two_workers_on_localhost_train_one_model_and_only_the_chief_writes(tmp_path, name):
    """--strategy multiworker as a user starts it: the same command in two processes."""
    from conftest import write_dataset

    data = write_dataset(tmp_path / "data")
    config = TINY[name]
    arguments = [
        "--model",
        name,
        "--data",
        str(data),
        "--epochs",
        "2",
        "--set",
        f"image_size={config.image_size}",
    ]
    arguments += ["--set", f"batch_size={config.batch_size}"]
    if (
        name == "mobilenetv2"
    ):  # two phases on cached activations; tests have no ImageNet file, so random weights
        import keras

        base = keras.applications.MobileNetV2(include_top=False, weights=None, input_shape=(96, 96, 3))
        base.save_weights(tmp_path / "random.weights.h5")
        arguments += [
            "--fine-tune-epochs",
            "1",
            "--set",
            "cached_copies=2",
            "--weights",
            str(tmp_path / "random.weights.h5"),
        ]
    outputs = [tmp_path / f"artifacts-{index}" for index in range(2)]
    codes, logs = two_workers(tmp_path, [[*arguments, "--artifacts", str(out)] for out in outputs])
    assert codes == [0, 0], logs
    assert "stopped sending heartbeats" not in logs  # no worker left before the chief was done
    assert "trained alongside the chief" in logs

    chief = outputs[0]
    assert artifacts.available_models(chief) == [name]
    manifest = artifacts.load_manifest(name, chief)
    assert (manifest["strategy"], manifest["replicas"]) == ("multiworker", 2)  # one cluster of two
    phases = [phase["name"] for phase in artifacts.load_history(name, chief)["phases"]]
    assert phases == (["head", "fine-tune"] if name == "mobilenetv2" else ["train"])
    assert artifacts.load_metrics(name, chief).n_images == 24
    assert not outputs[1].exists() or not any(outputs[1].iterdir())


def test_workers_with_different_data_stop_with_a_clear_error_rather_than_wait(tmp_path):
    from conftest import write_dataset

    datasets = [write_dataset(tmp_path / "data-a"), write_dataset(tmp_path / "data-b", per_class=5)]
    arguments = [
        "--model",
        "custom_cnn",
        "--epochs",
        "1",
        "--set",
        "image_size=64",
        "--artifacts",
        str(tmp_path / "out"),
    ]
    codes, logs = two_workers(tmp_path, [[*arguments, "--data", str(data)] for data in datasets])
    assert codes[0] != 0 and codes[1] != 0, logs
    assert logs.count("the workers differ in their training images or config") == 2
    assert not (tmp_path / "out" / "custom_cnn").exists()


@pytest.mark.parametrize(
    ("tf_config", "message"),
    [
        (None, "needs \\$TF_CONFIG on every worker"),
        ("not json", "is not a cluster and this worker's task"),
        ('{"cluster": {"worker": []}, "task": {"type": "worker", "index": 0}}', "is not a cluster"),
        ('{"cluster": {"worker": ["localhost:1"]}}', "is not a cluster"),
        (
            '{"cluster": {"worker": ["localhost:1"]}, "task": {"type": "worker", "index": 1}}',
            "is not a cluster",
        ),
    ],
)
def test_a_multiworker_run_without_a_cluster_says_what_tf_config_needs(monkeypatch, tf_config, message):
    from core.training import strategy

    if tf_config is None:
        monkeypatch.delenv(strategy.TF_CONFIG, raising=False)
    else:
        monkeypatch.setenv(strategy.TF_CONFIG, tf_config)
    with pytest.raises(ValueError, match=message):
        strategy.check_cluster_config()


def test_kept_runs_cannot_go_with_several_workers(tmp_path):
    with pytest.raises(ValueError, match="--keep-runs cannot go with --strategy multiworker"):
        train.train(TINY["custom_cnn"], tmp_path, tmp_path / "out", strategy="multiworker", keep_runs=True)


TOY_FIT = """
import json, os, sys
import numpy as np, keras, tensorflow as tf
from core.training.strategy import distribution_strategy
strategy = distribution_strategy("multiworker" if os.environ.get("TF_CONFIG") else None)
x = np.random.default_rng(0).random((256, 8), np.float32)
y = (x.sum(axis=1) > 4).astype("int32")
keras.utils.set_random_seed(0)
with strategy.scope():
    hidden, output = keras.layers.Dense(16, activation="relu"), keras.layers.Dense(2, activation="softmax")
    model = keras.Sequential([keras.Input((8,)), hidden, output])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
data = tf.data.Dataset.from_tensor_slices((x, y)).batch(32)
history = model.fit(data, validation_data=data, epochs=2, verbose=0).history
result = {"replicas": strategy.num_replicas_in_sync, "history": history}
print("RESULT", json.dumps({**result, "weights": [w.tolist() for w in model.get_weights()]}))
"""


def test_two_workers_fit_what_one_process_fits():
    """The multi-worker strategy's reduce: each worker's half of every batch, gradients and metrics
    combined across the workers as one process combines a whole batch (a toy model, seeded)."""
    import os
    import subprocess
    import sys

    def result(output: str) -> dict:
        return json.loads(output.split("RESULT ", 1)[1])

    env = {key: value for key, value in os.environ.items() if key != "TF_CONFIG"}
    alone = result(
        subprocess.run([sys.executable, "-c", TOY_FIT], env=env, capture_output=True, text=True).stdout
    )
    workers = []
    for tf_config in localhost_cluster(2):
        workers.append(
            subprocess.Popen(
                [sys.executable, "-c", TOY_FIT],
                env={**env, "TF_CONFIG": tf_config},
                stdout=subprocess.PIPE,
                text=True,
            )
        )
    try:
        outputs = [worker.communicate(timeout=120)[0] for worker in workers]
    finally:
        for worker in workers:
            worker.kill()
    assert alone["replicas"] == 1
    for together in map(result, outputs):
        assert together["replicas"] == 2  # each worker fitted half of every batch
        for key, values in alone["history"].items():
            np.testing.assert_allclose(together["history"][key], values, rtol=1e-5, err_msg=key)
        for mine, theirs in zip(together["weights"], alone["weights"]):
            np.testing.assert_allclose(mine, theirs, rtol=1e-5, atol=1e-6)
