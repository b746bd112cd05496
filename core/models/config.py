"""One frozen config per model; saved as config.json next to the model and used to rebuild it."""

import dataclasses
import json
import os
from dataclasses import dataclass
from pathlib import Path

MAX_EPOCHS_ENV_VAR = "BRAIN_MRI_MAX_EPOCHS"  # caps every phase's epochs (tests, quick runs)
VALIDATION_FRACTION = 0.15  # of Training, held out for every choice made during training
SPLIT_SEED = 42  # the validation split: the same for every model and every seed
PLATEAU, COSINE = "plateau", "cosine"  # phase 1's learning-rate schedules
FLOAT32, MIXED_BFLOAT16 = PRECISIONS = ("float32", "mixed_bfloat16")  # Keras dtype policies training may use


@dataclass(frozen=True)
class ModelConfig:
    name: str  # artifact folder and CLI name
    display_name: str
    architecture: str  # its entry in the model registry (core.models.registry)
    image_size: int  # square input side; callers feed raw 0-255 RGB at this size
    dropout: float
    batch_size: int = 32
    seed: int = 42  # initial weights, shuffling and augmentation (one run of --seeds)
    split_seed: int = SPLIT_SEED  # the validation split (core.data.duplicates.validation_split)
    validation_fraction: float = VALIDATION_FRACTION
    # Phase 1: the whole custom CNN, or MobileNetV2's new head on a frozen base.
    epochs: int = 30  # at most: early stopping may end sooner
    learning_rate: float = 1e-3
    # PLATEAU: cut by reduce_lr_factor when validation loss stalls; COSINE: from learning_rate down
    # to min_learning_rate over `epochs` (cosine decay), the best epoch kept.
    learning_rate_schedule: str = PLATEAU
    # Keras' dtype policy while training: FLOAT32, or MIXED_BFLOAT16 (bfloat16 arithmetic, float32
    # weights: a custom CNN step 37% faster on a CPU with bfloat16 instructions, docs/speed.md), for
    # one-phase models. The trained model computes in float32 from then on, saved or studied.
    precision: str = FLOAT32
    # Phase 2 (MobileNetV2 only): unfreeze the top layers of the base, BatchNorm stays frozen.
    fine_tune_epochs: int = 0
    fine_tune_layers: int = 0
    fine_tune_learning_rate: float = 1e-5
    fine_tune_patience: int = 4  # early stopping in phase 2
    # Phase 2 on cached activations: the frozen layers below the fine-tuned top run once over this
    # many augmented copies of every training image, and the top trains on them (0: every epoch
    # runs the whole model on freshly augmented images).
    cached_copies: int = 0
    # Callbacks, both on validation loss.
    early_stopping_patience: int = 5
    reduce_lr_patience: int = 2
    reduce_lr_factor: float = 0.3  # the new rate is the old one times this
    min_learning_rate: float = 1e-7
    # Augmentation of training batches only.
    rotation_degrees: float = 10.0
    shift_fraction: float = 0.1  # of the image side, each way
    zoom_fraction: float = 0.1
    horizontal_flip: bool = True
    # Learning the tumour rather than the collection (core.training.pipeline.random_intensity,
    # core.training.lesions): intensity changes a scanner or sequence could make, and lesions pasted into
    # no-tumour slices (this many per no-tumour training image; needs the tumour-box file).
    intensity_augmentation: bool = False
    intensity_strength: float = 1.0  # scales every intensity change's range (0: none)
    inversion_probability: float = 0.2  # of the head's intensities inverted (a crude T1/T2 swap)
    random_convolution: float = (
        0.0  # of the images through a random shallow network (pipeline.random_convolution)
    )
    lesion_pastes: float = 0.0

    def __post_init__(self) -> None:
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision {self.precision!r}: expected one of {', '.join(PRECISIONS)}")

    def capped(self) -> "ModelConfig":
        """This config with every phase's epochs capped by $BRAIN_MRI_MAX_EPOCHS, if set."""
        cap = os.environ.get(MAX_EPOCHS_ENV_VAR)
        if not cap:
            return self
        return dataclasses.replace(
            self, epochs=min(self.epochs, int(cap)), fine_tune_epochs=min(self.fine_tune_epochs, int(cap))
        )

    def with_settings(self, settings: list[str]) -> "ModelConfig":
        """This config with FIELD=VALUE settings applied (VALUE read as JSON: true, 0.5, "cosine").

        Raises:
            ValueError: an unknown field, a value that is not JSON, or one of another type.
        """
        changes = {}
        for setting in settings:
            field, _, text = setting.partition("=")
            fields = {f.name: f for f in dataclasses.fields(self)}
            if field not in fields or not text:
                raise ValueError(
                    f"not FIELD=VALUE with a config field: {setting!r} (fields: {', '.join(fields)})"
                )
            try:
                value = json.loads(text)
            except json.JSONDecodeError:
                raise ValueError(
                    f"{field}: {text!r} is not a JSON value (strings in double quotes)"
                ) from None
            current = getattr(self, field)
            if isinstance(current, float) and type(value) is int:
                value = float(value)
            if type(value) is not type(current):
                raise ValueError(f"{field} takes a {type(current).__name__}, not {text!r}")
            changes[field] = value
        return dataclasses.replace(self, **changes)

    def save(self, path: Path) -> None:
        Path(path).write_text(json.dumps(dataclasses.asdict(self), indent=2) + "\n")

    @classmethod
    def load(cls, path: Path) -> "ModelConfig":
        return cls(**json.loads(Path(path).read_text()))


def defaults() -> dict:
    """Every field's default, where it has one: what a config stored before a field existed read
    with (a new field's default reproduces the old behaviour), as `ModelConfig.load` reads it."""
    fields = dataclasses.fields(ModelConfig)
    return {f.name: f.default for f in fields if f.default is not dataclasses.MISSING}
