"""Why training accuracy can sit below validation accuracy: what training images get that validation
images do not (a model's config), and where its history shows it."""

from core.models.config import ModelConfig
from core.wording import listed


def kept_epoch(history: dict) -> dict:
    """The history's row of the epoch whose weights were kept: the last phase's best epoch."""
    best = history["phases"][-1]["best_epoch"]
    return next(row for row in history["epochs"] if row["epoch"] == best)


def below_validation(history: dict) -> bool:
    """Whether training accuracy sits below validation accuracy at the kept epoch."""
    row = kept_epoch(history)
    return row["accuracy"] < row["val_accuracy"]


def _augmentations(config: ModelConfig) -> list[str]:
    """How this model's training images are changed at random; validation images never are."""
    return [
        name
        for name, used in (
            ("rotated", config.rotation_degrees),
            ("shifted", config.shift_fraction),
            ("zoomed", config.zoom_fraction),
            ("flipped", config.horizontal_flip),
            ("changed in contrast through a random network", config.random_convolution),
            ("changed in brightness and contrast", config.intensity_augmentation),
        )
        if used
    ]


def _training_only(configs: list[ModelConfig]) -> str:
    """What these models' training gets and their validation does not, in words ("" for nothing)."""
    augmented = list(dict.fromkeys(word for config in configs for word in _augmentations(config)))
    images = [f"augmented ({listed(augmented)} at random)"] if augmented else []
    if any(config.lesion_pastes for config in configs):
        images.append("include no-tumour slices with a pasted lesion")
    found = [f"training images are {' and '.join(images)}"] if images else []
    if any(config.dropout for config in configs):
        found.append("dropout is on while training")
    return ", and ".join(found)


def gap_note(configs: dict[str, ModelConfig], histories: dict[str, dict], short_names: dict[str, str]) -> str:
    """The Training page's sentence on why training accuracy sits below validation accuracy, naming
    the models whose kept epoch shows it; "" where none does.

    Args:
        configs, histories, short_names: by model name.
    """
    below = [name for name in configs if below_validation(histories[name])]
    reasons = _training_only([configs[name] for name in below])
    if not reasons:
        return ""
    dropout_off = " and scored with dropout off" if any(configs[name].dropout for name in below) else ""
    kept = {name: kept_epoch(histories[name]) for name in below}
    scores = "; ".join(
        f"{short_names[name]} {row['accuracy']:.0%} against {row['val_accuracy']:.0%}"
        for name, row in kept.items()
    )
    return (
        f"At the kept epoch, training accuracy sits below validation accuracy ({scores}): "
        f"{reasons}; validation images are plain{dropout_off}. The training score is measured on "
        "harder inputs, not a sign of a fault."
    )
