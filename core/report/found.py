"""What the report is built from: every artifact it shows, read once (`gather`) into `Found`.

A missing or damaged optional artifact (the audit, the sources, leave one source out, localisation,
the benchmark) is None in `Found`, and `Found.absent` says why, so its section can say so.
"""

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import pandas as pd

from core import artifacts, paths
from core.data import subsets
from core.evaluation import paired
from core.models import registry
from core.models.config import ModelConfig
from core.records import CrossSourceSummary, ExternalSummary, Metrics, WarningsSummary

T = TypeVar("T")


@dataclass(frozen=True)
class Found:
    """What the report is built from: each model's artifacts and the optional dataset-wide ones.

    An optional artifact that could not be read is None, and `absent` says why (its ArtifactError).
    """

    root: Path
    names: list[str]  # the shipped models, in registry order
    titles: dict[str, str]  # model name -> display name
    short_names: dict[str, str]  # model name -> the registry's short name
    colors: dict[str, str]  # model name -> its plots' colour
    controls: frozenset[str]  # experimental controls, left out of generalisation as on its page
    metrics: dict[str, Metrics]
    manifests: dict[str, dict]
    configs: dict[str, ModelConfig]
    predictions: dict[str, pd.DataFrame]
    clean_metrics: dict[str, Metrics] | None  # each model's metrics on the clean subset; None: no audit
    runs: dict[str, dict[int, pd.DataFrame]] | None  # model -> seed -> test predictions
    audit: dict | None
    provenance: dict | None
    crosssource: dict[str, CrossSourceSummary]  # recipe -> leave-one-source-out summary, current first
    localisation: dict | None
    external: ExternalSummary | None  # the models on the external validation set
    external_table: pd.DataFrame | None  # its per-slice answers of the served models
    warnings: WarningsSummary | None  # what Live prediction's warnings catch there and cost on Testing
    benchmark: dict | None
    absent: dict[str, str]  # optional artifact -> why it is not in the report

    @property
    def clean_paths(self) -> frozenset[str] | None:
        """The clean subset's test images, or None without an audit."""
        return frozenset(subsets.clean_test_paths(self.audit)) if self.audit else None

    @property
    def in_source(self) -> tuple[dict[str, float], str]:
        """Each model's accuracy on the clean subset (the full test set without an audit), and its name."""
        if self.clean_metrics is None:
            return {name: m.accuracy for name, m in self.metrics.items()}, subsets.FULL
        return {name: m.accuracy for name, m in self.clean_metrics.items()}, subsets.CLEAN

    @property
    def same_recipe(self) -> bool:
        """Whether every model trained with the same pasted lesions (the control may lag behind)."""
        return len({config.lesion_pastes for config in self.configs.values()}) == 1

    @property
    def n_images(self) -> int:
        return self.metrics[self.names[0]].n_images


def _optional(load: Callable[[], T], key: str, absent: dict[str, str]) -> T | None:
    """`load()`, or None, the reason in `absent[key]`, where its artifact is missing or damaged."""
    try:
        return load()
    except artifacts.ArtifactError as error:
        absent[key] = str(error)
        return None


def gather(root: Path | None = None, titles: dict[str, str] | None = None) -> Found:
    """Read every artifact the report shows.

    Args:
        root: the artifacts folder (default: paths.artifacts_dir()).
        titles: model name -> title to show; default each model's display name (config.json).

    Raises:
        ArtifactError: there is no trained model, or one of its files is missing or damaged.
    """
    root = paths.artifacts_dir(root)
    names = artifacts.available_models(root)
    if not names:
        raise artifacts.ArtifactError(
            f"no trained model in {root}: train them with `python -m core train --model all`"
        )
    configs = {name: artifacts.load_config(name, root) for name in names}
    architectures = {name: registry.get(config.architecture) for name, config in configs.items()}
    absent: dict[str, str] = {}
    recipes = artifacts.crosssource_recipes(root)
    crosssource = {
        recipe: summary
        for recipe in recipes
        if (summary := _optional(lambda r=recipe: artifacts.load_crosssource(r, root), recipe, absent))
    }
    if not recipes:
        _optional(lambda: artifacts.load_crosssource(root=root), artifacts.CURRENT_RECIPE, absent)
    scored = _optional(lambda: artifacts.load_localisation(root), "localisation", absent)
    predictions = {name: artifacts.load_predictions(name, root) for name in names}
    found_audit = _optional(lambda: artifacts.load_audit(root), "audit", absent)
    clean_metrics = None
    if found_audit:  # as the pages' loaders.subset_metrics
        from core.evaluation.evaluate import metrics_from_predictions  # scikit-learn: only where it is needed

        clean = set(subsets.clean_test_paths(found_audit))
        clean_metrics = {
            name: metrics_from_predictions(paired.restrict(table, clean))
            for name, table in predictions.items()
        }
    return Found(
        root=root,
        names=names,
        titles=titles or {name: config.display_name for name, config in configs.items()},
        short_names={name: entry.short_name for name, entry in architectures.items()},
        colors={name: entry.color for name, entry in architectures.items()},
        controls=frozenset(name for name, entry in architectures.items() if entry.control),
        metrics={name: artifacts.load_metrics(name, root) for name in names},
        manifests={name: artifacts.load_quickest_manifest(name, root) for name in names},
        configs=configs,
        predictions=predictions,
        clean_metrics=clean_metrics,
        runs=_optional(
            lambda: {name: artifacts.load_run_predictions(name, root) for name in names}, "runs", absent
        ),
        audit=found_audit,
        provenance=_optional(lambda: artifacts.load_provenance(root), "provenance", absent),
        crosssource=crosssource,
        localisation=scored[0] if scored else None,
        external=(outside := _optional(lambda: artifacts.load_external(root), "external", absent))
        and outside[0],
        external_table=outside and outside[1],
        warnings=_optional(lambda: artifacts.load_warnings(root), "warnings", absent),
        benchmark=_optional(lambda: artifacts.load_benchmark(root), "benchmark", absent),
        absent=absent,
    )


def subset_metrics(found: Found, subset: str) -> dict[str, dict] | None:
    """Each model's classification metrics on the full test set or the clean subset (None: no audit)."""
    return found.metrics if subset == subsets.FULL else found.clean_metrics
