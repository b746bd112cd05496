"""One-epoch runs on a tiny synthetic dataset: the whole train -> evaluate -> save path."""

import dataclasses
import json

import numpy as np
import pytest

from core import artifacts, train
from core.config import CUSTOM_CNN, MOBILENETV2, ModelConfig
from core.data import PROBABILITY_COLUMNS, TEST_SPLIT, find_samples, load_images
from core.evaluate import metrics_from_predictions

TINY = {
    "mobilenetv2": dataclasses.replace(
        MOBILENETV2, image_size=96, epochs=1, fine_tune_epochs=1, batch_size=8
    ),
    "custom_cnn": dataclasses.replace(CUSTOM_CNN, image_size=64, epochs=1, batch_size=8),
}


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
    manifest = artifacts.load_manifest(name, root)
    assert manifest["seed"] == 42 and manifest["dataset"]["test_images"] == 24
    assert set(expected_phases) <= set(manifest["wall_time_s"])
    assert "keras" in manifest["versions"] and manifest["cpu"]
    metrics = artifacts.load_metrics(name, root)
    assert metrics["model"]["file_size_mb"] > 0 and metrics["timing"]["batch_1_ms"] > 0
    assert metrics["accuracy"] == pytest.approx(
        metrics_from_predictions(artifacts.load_predictions(name, root))["accuracy"]
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

    from core.models import base_layers, build_model

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


def test_max_epochs_env_var_caps_every_phase(monkeypatch):
    monkeypatch.setenv("BRAIN_MRI_MAX_EPOCHS", "2")
    capped = MOBILENETV2.capped()
    assert (capped.epochs, capped.fine_tune_epochs) == (2, 2)
    monkeypatch.delenv("BRAIN_MRI_MAX_EPOCHS")
    assert MOBILENETV2.capped() == MOBILENETV2


def test_config_round_trips_through_json(tmp_path):
    MOBILENETV2.save(tmp_path / "config.json")
    assert ModelConfig.load(tmp_path / "config.json") == MOBILENETV2
    assert json.loads((tmp_path / "config.json").read_text())["fine_tune_layers"] == 30


def test_cli_trains_the_named_model(tmp_path, monkeypatch):
    from conftest import write_dataset

    data = write_dataset(tmp_path / "data")
    monkeypatch.setenv("BRAIN_MRI_MAX_EPOCHS", "1")
    monkeypatch.setitem(train.CONFIGS, "custom_cnn", dataclasses.replace(TINY["custom_cnn"], epochs=5))
    train.main(["--model", "custom_cnn", "--data", str(data), "--artifacts", str(tmp_path / "out")])
    assert artifacts.available_models(tmp_path / "out") == ["custom_cnn"]
    assert len(artifacts.load_history("custom_cnn", tmp_path / "out")["epochs"]) == 1


def test_evaluate_cli_reproduces_the_recorded_metrics(trained):
    from core import evaluate

    data, root = trained
    before = artifacts.load_metrics("custom_cnn", root)
    evaluate.main(["--model", "custom_cnn", "--data", str(data), "--artifacts", str(root)])
    after = artifacts.load_metrics("custom_cnn", root)
    assert after["model"] == before["model"]
    assert after["confusion_matrix"] == before["confusion_matrix"]
    assert after["accuracy"] == pytest.approx(before["accuracy"])


def test_cli_names_a_missing_dataset_in_one_line(tmp_path):
    from core import cli

    with pytest.raises(SystemExit, match="error: dataset folder not found: .*nowhere"):
        cli.run(lambda: train.main(["--model", "custom_cnn", "--data", str(tmp_path / "nowhere")]))
