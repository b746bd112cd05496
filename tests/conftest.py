"""Shared fixtures: tiny synthetic datasets in the Kaggle layout."""

import os
import sys
import zlib
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import pytest
from PIL import Image

from core import paths
from core.data.dataset import CLASS_NAMES, TEST_SPLIT, TRAIN_SPLIT
from core.models import registry
from core.models.config import ModelConfig
from core.records import ClassScores, Metrics

# For tests that read the real dataset: skipped where it is absent (a fresh clone has none).
needs_dataset = pytest.mark.skipif(
    not (paths.data_dir() / TEST_SPLIT).is_dir(),
    reason=f"dataset not found; set {paths.DATA_ENV_VAR} to run the tests that read it",
)


# A fourth architecture, as small as a model gets: registered by the `tiny_net` fixture, it shows
# that a registry entry alone trains, evaluates and appears everywhere, and trains in seconds.
TINY = ModelConfig(
    name="tiny_net", display_name="Tiny net (test)", architecture="tiny_net", image_size=32, dropout=0.1
)


def build_tiny_net(config: ModelConfig):
    import keras
    from keras import layers

    inputs = keras.Input((config.image_size, config.image_size, 3), name="image")
    x = layers.Rescaling(1 / 255, name=registry.PREPROCESS_LAYER)(inputs)
    x = layers.Conv2D(8, 3, activation="relu", name="conv")(x)
    x = layers.GlobalAveragePooling2D(name="pool")(x)
    outputs = layers.Dense(registry.NUM_CLASSES, activation="softmax", name="predictions")(x)
    return keras.Model(inputs, outputs, name=config.name)


@pytest.fixture(scope="module")
def tiny_net():
    """The tiny architecture, registered for the requesting module only."""
    facts = dict(explain_layer="conv", feature_layer="pool", two_phase=False, pretrained=False)
    registry.register(TINY, **facts, short_name="Tiny", color="#16a34a", badge="green")(build_tiny_net)
    yield registry.get(TINY.name)
    registry.unregister(TINY.name)


def make_metrics(accuracy: float = 0.9, macro_f1: float = 0.9, per_class: dict | None = None) -> Metrics:
    """A Metrics record with the given figures (per_class: class -> precision, recall, f1, support)."""
    scores = {cls: ClassScores(**{"support": 0} | values) for cls, values in (per_class or {}).items()}
    return Metrics(len(CLASS_NAMES), accuracy, macro_f1, macro_f1, None, scores, ())


def make_scan(label: int, seed: int, size: int = 48) -> Image.Image:
    """A grayscale 'scan' whose bright blob sits in a class-specific quadrant."""
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 40, (size, size), dtype=np.uint8)
    half = size // 2
    row, col = divmod(label, 2)
    pixels[row * half + 4 : row * half + half - 4, col * half + 4 : col * half + half - 4] = 220
    return Image.fromarray(pixels, mode="L")


def worse_copy(run_folder: Path, folder: Path) -> Path:
    """A copy of a finished run's folder at `folder` (its id the folder's name) whose custom CNN
    gets every validation image wrong; its test figures are unchanged."""
    import json
    import shutil

    import pandas as pd

    shutil.copytree(run_folder, folder)
    record = json.loads((folder / "run.json").read_text())
    (folder / "run.json").write_text(json.dumps({**record, "id": folder.name}))
    file = folder / "artifacts" / "custom_cnn" / "validation_predictions.csv"
    table = pd.read_csv(file)
    table["predicted_label"] = ["notumor" if t != "notumor" else "glioma" for t in table["true_label"]]
    table.to_csv(file, index=False)
    return folder


def write_dataset(root: Path, per_class: int = 6, class_dirs=CLASS_NAMES) -> Path:
    """Training/ and Testing/ with `per_class` JPEGs per class folder."""
    for split in (TRAIN_SPLIT, TEST_SPLIT):
        for label, folder in enumerate(class_dirs):
            directory = root / split / folder
            directory.mkdir(parents=True)
            for i in range(per_class):
                make_scan(label, seed=zlib.crc32(f"{split}/{label}/{i}".encode())).save(
                    directory / f"{i:03d}.jpg"
                )
    return root


@pytest.fixture
def dataset_dir(tmp_path: Path) -> Path:
    return write_dataset(tmp_path / "data")


@pytest.fixture(scope="session")
def tiny_cnn():
    """An untrained custom CNN at 64 px with its config: fast, real Keras."""
    import dataclasses

    from core.models.registry import CUSTOM_CNN, build_model

    config = dataclasses.replace(CUSTOM_CNN, image_size=64)
    return build_model(config), config


# TensorFlow's and LiteRT's native threads can abort Python's own teardown once every test has
# run ("terminate called ... FATAL: exception not rethrown"), which would turn a passing run into
# a failed one. The process ends with pytest's exit status instead, after its output is flushed.
EXIT_STATUS = pytest.StashKey[int]()


def pytest_sessionfinish(session, exitstatus):
    session.config.stash[EXIT_STATUS] = int(exitstatus)


def pytest_unconfigure(config):
    status = config.stash.get(EXIT_STATUS, None)
    if status is None:  # pytest stopped before the session finished: let it exit its own way
        return
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)
