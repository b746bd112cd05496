"""What runs around every training epoch: the phase names, the epoch log (and the progress file
the Train page reads), the learning-rate schedules, early stopping."""

import math
import time

import keras

from core import paths
from core.files import write_json
from core.models import registry
from core.models.config import COSINE, ModelConfig

HEAD, FINE_TUNE, ONE_PHASE = "head", "fine-tune", "train"  # phase names in history.json


class EpochLog(keras.callbacks.Callback):
    """Appends one record per epoch: phase, learning rate used, Keras' logs and wall time.

    With $BRAIN_MRI_PROGRESS set, it also writes the records so far there (write_progress).
    """

    def __init__(self, phase: str, records: list[dict], config: ModelConfig) -> None:
        super().__init__()
        self.phase, self.records, self.config = phase, records, config

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self.learning_rate = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        record = {"epoch": len(self.records) + 1, "phase": self.phase, "learning_rate": self.learning_rate}
        record.update({key: float(value) for key, value in (logs or {}).items() if key != "learning_rate"})
        record["wall_time_s"] = round(time.perf_counter() - self.start, 2)  # training and validation
        self.records.append(record)
        write_progress(self.config, self.phase, self.records)


def write_progress(config: ModelConfig, phase: str, records: list[dict]) -> None:
    """Write a run's epoch records so far to <$BRAIN_MRI_PROGRESS>/<model>-seed-<seed>.json, if set.

    history.json comes only once the run is complete; core.training.runs reads this file to show a
    training run's progress meanwhile. It also names each phase's maximum epochs.
    """
    folder = paths.progress_dir()
    if folder is None:
        return
    if registry.get(config.architecture).two_phase:
        max_epochs = {HEAD: config.epochs, FINE_TUNE: config.fine_tune_epochs}
    else:
        max_epochs = {ONE_PHASE: config.epochs}
    progress = {"model": config.name, "seed": config.seed, "phase": phase, "max_epochs": max_epochs}
    write_json(folder / f"{config.name}-seed-{config.seed}.json", {**progress, "epochs": records})


def cosine_rate(epoch: int, config: ModelConfig) -> float:
    """Phase 1's learning rate under the cosine schedule: config.learning_rate at the first epoch,
    config.min_learning_rate at the last (epoch counts from 0)."""
    progress = epoch / max(1, config.epochs - 1)
    low, high = config.min_learning_rate, config.learning_rate
    return low + (high - low) * 0.5 * (1 + math.cos(math.pi * min(progress, 1.0)))


def callbacks(config: ModelConfig, phase: str, records: list[dict]) -> list[keras.callbacks.Callback]:
    if phase == FINE_TUNE:  # fine-tuning epochs are costly: stop sooner, cut the rate sooner
        patience, lr_patience = config.fine_tune_patience, max(1, config.fine_tune_patience // 2)
    else:
        patience, lr_patience = config.early_stopping_patience, config.reduce_lr_patience
    if phase != FINE_TUNE and config.learning_rate_schedule == COSINE:
        rate = keras.callbacks.LearningRateScheduler(lambda epoch: cosine_rate(epoch, config))
    else:
        rate = keras.callbacks.ReduceLROnPlateau(
            monitor="val_loss",
            factor=config.reduce_lr_factor,
            patience=lr_patience,
            min_lr=config.min_learning_rate,
        )
    return [
        keras.callbacks.EarlyStopping(monitor="val_loss", patience=patience, restore_best_weights=True),
        rate,  # before EpochLog, which records the rate the epoch runs at
        EpochLog(phase, records, config),
    ]
