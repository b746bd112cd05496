"""The artifact files read across rooms, as frozen dataclasses with a `from_json`.

metrics.json (core.evaluation.evaluate writes it) and each recipe's leave-one-source-out summary
(core.studies.crosssource) are read here; artifacts.load_metrics and artifacts.load_crosssource
return these, so no page or section walks their dicts. The leakage audit's headline counts are
core.data.subsets.AuditSummary.
"""

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Interval:
    estimate: float  # on the images as they are
    low: float  # 2.5th percentile of the bootstrap
    high: float  # 97.5th percentile

    @classmethod
    def from_json(cls, data: dict) -> "Interval":
        return cls(data["estimate"], data["low"], data["high"])


@dataclass(frozen=True)
class ClassScores:
    precision: float
    recall: float
    f1: float
    support: int  # test images of the class


@dataclass(frozen=True)
class ModelFacts:
    total_params: int
    trainable_params: int
    file_size_mb: float  # model.keras


@dataclass(frozen=True)
class Metrics:
    """A model's classification metrics on some test images (metrics.json, or a subset's)."""

    n_images: int
    accuracy: float
    macro_f1: float
    weighted_f1: float
    roc_auc_ovr: float | None  # one-vs-rest, macro; None unless every class is present
    per_class: dict[str, ClassScores]  # class name -> its scores, in CLASS_NAMES order
    confusion_matrix: tuple[tuple[int, ...], ...]  # rows true, columns predicted, CLASS_NAMES order
    test_fingerprint: str | None = None  # metrics.json only: the test set it was scored on
    model: ModelFacts | None = None  # metrics.json only: the model's size

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Metrics":
        return cls(
            n_images=data["n_images"],
            accuracy=data["accuracy"],
            macro_f1=data["macro_f1"],
            weighted_f1=data["weighted_f1"],
            roc_auc_ovr=data["roc_auc_ovr"],
            per_class={name: ClassScores(**scores) for name, scores in data["per_class"].items()},
            confusion_matrix=tuple(tuple(row) for row in data["confusion_matrix"]),
            test_fingerprint=data.get("test_fingerprint"),
            model=ModelFacts(**data["model"]) if data.get("model") else None,
        )


@dataclass(frozen=True)
class FoldModel:
    """One model trained without a collection, scored on it and on the other test images."""

    held_out_images: int
    tumour_recall: Interval  # held-out tumours called any tumour class
    accuracy: Interval  # four-class accuracy on the held-out images
    in_source_images: int  # the other Testing images
    in_source_accuracy: Interval
    confusion: tuple[tuple[int, ...], ...]  # held-out images: rows true, columns predicted
    training_images: int
    lesion_pastes: int  # pasted-lesion slices among them
    config: dict[str, Any]  # the fold's ModelConfig fields, as it trained (later ones: defaults)
    warnings: dict[str, Any] | None  # per warning rule: tumours caught, false alarms (None: older)

    @classmethod
    def from_json(cls, data: dict[str, Any], config_defaults: dict[str, Any]) -> "FoldModel":
        return cls(
            held_out_images=data["held_out_images"],
            tumour_recall=Interval.from_json(data["tumour_recall"]),
            accuracy=Interval.from_json(data["accuracy"]),
            in_source_images=data["in_source_images"],
            in_source_accuracy=Interval.from_json(data["in_source_accuracy"]),
            confusion=tuple(tuple(row) for row in data["confusion"]),
            training_images=data["training_images"],
            lesion_pastes=data.get("lesion_pastes", 0),
            config=config_defaults | data["config"],
            warnings=data.get("warnings"),
        )


@dataclass(frozen=True)
class Fold:
    held_out_images: int
    models: dict[str, FoldModel]  # model name -> its figures, in training order


@dataclass(frozen=True)
class CrossSourceSummary:
    """One recipe's leave-one-source-out results (crosssource/<recipe>/summary.json)."""

    short_epochs: int  # the short schedule every fold model trains with
    short_copies: int  # MobileNetV2's cached augmented copies
    folds: dict[str, Fold]  # held-out collection -> its fold
    note: str | None = None  # what the recipe tried, where it is not the shipped one

    @classmethod
    def from_json(cls, data: dict[str, Any], config_defaults: dict[str, Any]) -> "CrossSourceSummary":
        """`config_defaults` (core.models.config.defaults) fill the config fields a run predates."""
        folds = {
            held_out: Fold(
                fold["held_out_images"],
                {n: FoldModel.from_json(m, config_defaults) for n, m in fold["models"].items()},
            )
            for held_out, fold in data["folds"].items()
        }
        return cls(data["short_epochs"], data["short_copies"], folds, data.get("note"))

    @property
    def first(self) -> FoldModel:
        """The first fold's first model: what every fold model shares (the recipe) is read here."""
        return next(iter(next(iter(self.folds.values())).models.values()))

    @property
    def compared(self) -> int:
        """How many models each fold trained."""
        return len(next(iter(self.folds.values())).models)


@dataclass(frozen=True)
class ExternalRun:
    """One run (seed) of a model on the external tumour slices: ExternalModel's estimates."""

    threshold: float
    recall_own: float
    recall: float
    specificity: float
    auc: float


@dataclass(frozen=True)
class ExternalModel:
    """One model on the external tumour slices, at its own answer and at a validated operating point."""

    threshold: float  # "tumour" when P(tumour) > threshold, chosen on the validation split
    validation_specificity: float  # validation no-tumour slices called no tumour at the threshold
    recall_own: Interval  # external slices not called "notumor" by the model's own answer
    recall: Interval  # external slices with P(tumour) > threshold
    specificity: Interval  # Testing no-tumour slices with P(tumour) <= threshold
    auc: Interval  # P(tumour) of external tumours against Testing no-tumour slices
    runs: dict[int, ExternalRun]  # by seed: every run whose model is kept, the served one included

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "ExternalModel":
        intervals = ("recall_own", "recall", "specificity", "auc")
        return cls(
            threshold=data["threshold"],
            validation_specificity=data["validation_specificity"],
            **{key: Interval.from_json(data[key]) for key in intervals},
            runs={int(seed): ExternalRun(**run) for seed, run in data.get("runs", {}).items()},
        )


@dataclass(frozen=True)
class ExternalSummary:
    """The models on a folder of tumour slices from a collection the dataset does not contain."""

    images: int  # slices scored
    unreadable: tuple[str, ...]  # files that could not be decoded: not scored
    test_no_tumour: int  # the Testing no-tumour slices the specificity and AUC use
    target_specificity: float  # the operating point keeps at least this share of validation no-tumour slices
    models: dict[str, ExternalModel]

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "ExternalSummary":
        return cls(
            images=data["images"],
            unreadable=tuple(data["unreadable"]),
            test_no_tumour=data["test_no_tumour"],
            target_specificity=data["target_specificity"],
            models={name: ExternalModel.from_json(model) for name, model in data["models"].items()},
        )


@dataclass(frozen=True)
class WarningsSummary:
    """What Live prediction's warnings catch (core.studies.warnings): tumours of the external set
    some model calls "no tumor" with no warning shown, and right Testing answers warned about."""

    external_images: int
    external_no_tumour: int  # slices some model calls "no tumor"
    unwarned: tuple[str, ...]  # ... with no warning shown: the files
    test_images: int
    test_right: int  # Testing images every model answers right
    false_alarms: dict[str, int]  # rule -> right Testing images it warns about; "any": any rule
    max_unwarned: float  # targets, as shares of the external slices and of the right Testing images
    max_false_alarms: float

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "WarningsSummary":
        external, test = data["external"], data["test"]
        return cls(
            external_images=external["images"],
            external_no_tumour=external["no_tumour"],
            unwarned=tuple(external["unwarned"]),
            test_images=test["images"],
            test_right=test["right"],
            false_alarms=dict(test["warned"]),
            max_unwarned=data["targets"]["unwarned"],
            max_false_alarms=data["targets"]["false_alarms"],
        )
