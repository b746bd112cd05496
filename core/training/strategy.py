"""How a training run is set up: its tf.distribute strategy, and which runs already trained it keeps."""

from pathlib import Path

import tensorflow as tf

from core import artifacts
from core.models.config import ModelConfig

STRATEGIES = ("mirrored",)


def distribution_strategy(name: str | None) -> tf.distribute.Strategy:
    """The tf.distribute strategy to build, compile and fit under.

    Args:
        name: None for TensorFlow's default (one device, no distribution), or "mirrored" for
            MirroredStrategy over all local GPUs, or the CPU where there is none. For several
            machines, MultiWorkerMirroredStrategy with TF_CONFIG set on each is the analogue.

    Raises:
        ValueError: an unknown strategy name.
    """
    if name is None:
        return tf.distribute.get_strategy()  # the default strategy: its scope changes nothing
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    raise ValueError(f"unknown strategy {name!r}; expected one of {', '.join(STRATEGIES)}")


def kept_run(folder: Path, config: ModelConfig, serve: bool) -> bool:
    """Whether `folder` holds a complete run of `config` (its results, and with `serve` the
    served model's files too) that train(keep_runs=True) may keep."""
    needed = artifacts.ARTIFACT_FILES if serve else artifacts.RUN_FILES
    if not all((folder / name).is_file() for name in needed):
        return False
    try:
        return ModelConfig.load(folder / "config.json") == config
    except (ValueError, TypeError):  # a damaged or older config.json: train the run again
        return False
