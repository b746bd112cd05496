"""The training runs the Train page offers: each a preset of `python -m core train` commands."""

import dataclasses
import shlex
from dataclasses import dataclass

from core.models import registry

TRAIN_COMMAND = "python -m core train"


@dataclass(frozen=True)
class Step:
    """One `python -m core train` command of a preset."""

    model: str
    epochs: int | None = None  # None: the registry's config
    fine_tune_epochs: int | None = None
    seeds: int = 1

    def args(self) -> tuple[str, ...]:
        """core.training.train's arguments, without --artifacts and --data (the run adds them)."""
        args = ["--model", self.model]
        if self.epochs is not None:
            args += ["--epochs", str(self.epochs)]
        if self.fine_tune_epochs is not None:
            args += ["--fine-tune-epochs", str(self.fine_tune_epochs)]
        if self.seeds != 1:
            args += ["--seeds", str(self.seeds)]
        return tuple(args)

    def units(self) -> list[dict]:
        """{model, seed, max_epochs} of each seed, as core.training.train will configure it (capped by
        $BRAIN_MRI_MAX_EPOCHS, which the run inherits)."""
        overrides = {"epochs": self.epochs, "fine_tune_epochs": self.fine_tune_epochs}
        config = registry.get(self.model).config
        config = dataclasses.replace(config, **{k: v for k, v in overrides.items() if v is not None}).capped()
        two_phase = registry.get(config.architecture).two_phase
        max_epochs = config.epochs + (config.fine_tune_epochs if two_phase else 0)
        return [
            {"model": self.model, "seed": config.seed + k, "max_epochs": max_epochs}
            for k in range(self.seeds)
        ]


@dataclass(frozen=True)
class Preset:
    """A training run the Train page offers: its core.training.train commands, run one after another."""

    name: str
    title: str
    description: str
    steps: tuple[Step, ...]

    @property
    def models(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(step.model for step in self.steps))

    def seeds_text(self) -> str:
        """How many seeds each model gets, in words: "2 seeds of MobileNetV2, 1 of the custom CNN"."""
        counts = [f"{step.seeds} of {registry.get(step.model).config.display_name}" for step in self.steps]
        return ", ".join(counts)

    def with_seeds(self, seeds: int | None) -> "Preset":
        """The same preset with `seeds` seeds of every model (None: as it is)."""
        if seeds is None:
            return self
        if seeds < 1:
            raise ValueError(f"a run trains at least one seed per model, not {seeds}")
        steps = tuple(dataclasses.replace(step, seeds=seeds) for step in self.steps)
        return dataclasses.replace(self, steps=steps)

    def arguments(self, artifacts_dir: str, data_dir: str | None = None) -> list[list[str]]:
        """core.training.train's arguments of each step, writing into `artifacts_dir`."""
        where = ["--artifacts", artifacts_dir] + (["--data", data_dir] if data_dir else [])
        return [[*step.args(), *where] for step in self.steps]

    def command_lines(
        self, artifacts_dir: str = "runs/<run id>/artifacts", data_dir: str | None = None
    ) -> list[str]:
        """The exact commands the run executes, one per step."""
        return [command_line(args) for args in self.arguments(artifacts_dir, data_dir)]


def command_line(args: list[str]) -> str:
    """The core.training.train command with these arguments, as a shell would take it."""
    return f"{TRAIN_COMMAND} {shlex.join(args)}"


PRESETS = {
    preset.name: preset
    for preset in (
        Preset(
            "demo",
            "Quick demo: custom CNN, 2 epochs",
            "The whole path (decode, train, evaluate, save) in a few minutes on two CPU cores; "
            "the model will be far weaker than the shipped one.",
            (Step("custom_cnn", epochs=2),),
        ),
        Preset(
            "full",
            "Full: the compared models as `make train` trains them",
            "Three seeds each of MobileNetV2, the custom CNN and the MobileNetV2-from-scratch "
            "control, with the registry's recipes: as long as the shipped runs took (their manifests record "
            "it), and MobileNetV2 needs its ImageNet weights.",
            (Step("mobilenetv2", seeds=3), Step("custom_cnn", seeds=3), Step("mobilenetv2_scratch", seeds=3)),
        ),
    )
}
