"""What the pages and the report say of the external validation set (core.studies.external's
external.json): a table, the sentences around it, and the two axes of the comparison."""

import pandas as pd

from core import paths, wording
from core.commands import command
from core.evaluation.stats import percent_interval
from core.models import registry
from core.records import ExternalSummary, WarningsSummary
from core.report.axes import out_of_source_means

HEADING = "A collection the dataset does not contain"
WHERE = f"`{paths.shown(paths.DEFAULT_EXTERNAL_DIR)}` (or point ${paths.EXTERNAL_ENV_VAR} at one)"
ABSENT = (
    "No external validation set in the artifacts. Put a folder of tumour slices from a collection "
    f"the dataset does not contain at {WHERE} and run `{command('external')}`."
)
IMAGES_ABSENT = (
    f"The slices themselves are not on this machine: put them at {WHERE} to see where the models look."
)


def sentence(summary: ExternalSummary) -> str:
    """What the set is and how each figure is measured."""
    unreadable = f" ({len(summary.unreadable)} files could not be read)" if summary.unreadable else ""
    return (
        f"{summary.images:,} tumour slices{unreadable} from a public collection the Kaggle dataset "
        "does not contain (T1 with contrast, T2, FLAIR; axial and coronal), never trained on and "
        "never used to choose anything. **Recall, own answer**: slices a model does not call *no "
        "tumor*. **At the operating point**: *tumour* where P(tumour) is above the threshold that "
        f"keeps at least {summary.target_specificity:.0%} of the **validation** no-tumour slices, so "
        "the models are compared at matched specificity; its specificity and the AUC are measured "
        f"against the {summary.test_no_tumour:,} Testing no-tumour slices. 95% bootstrap intervals."
    )


def table(summary: ExternalSummary, titles: dict[str, str]) -> pd.DataFrame:
    """One row per model: recall at its own answer and at the operating point, specificity, AUC."""
    return pd.DataFrame(
        [
            {
                "Model": titles.get(name, name),
                "Recall, own answer": percent_interval(m.recall_own),
                "Threshold": f"{m.threshold:.3f}",
                "Recall at the operating point": percent_interval(m.recall),
                "Specificity, Testing": percent_interval(m.specificity),
                "AUC": f"{m.auc.estimate:.3f} ({m.auc.low:.3f}–{m.auc.high:.3f})",
            }
            for name, m in summary.models.items()
        ]
    )


def line(summary: ExternalSummary, titles: dict[str, str]) -> str:
    """The Overview's out-of-source sentence on the external set: each model's served run."""
    figures = ", ".join(
        f"{titles.get(name, name)} {m.recall.estimate:.0%} (AUC {m.auc.estimate:.2f})"
        for name, m in summary.models.items()
    )
    return (
        f"The served runs' tumour recall on {summary.images:,} slices of a collection none was trained "
        f"on, at the operating point that keeps {summary.target_specificity:.0%} of validation "
        f"no-tumour slices — {figures}."
    )


def roles(names: list[str]) -> tuple[str | None, str | None, str | None]:
    """(transfer, control, scratch): the pretrained model, the control, the other model."""
    transfer = next((n for n in names if registry.get(n).pretrained), None)
    control = next((n for n in names if registry.get(n).control), None)
    scratch = next((n for n in names if n not in (transfer, control)), None)
    return transfer, control, scratch


def axes_sentence(
    in_source: dict[str, float],
    where: str,
    summary: ExternalSummary,
    titles: dict[str, str],
    same_recipe: bool,
) -> str:
    """What pretraining buys (transfer minus control) and what the architecture buys (control minus
    the custom CNN), in source and out of source, in one sentence; "" without the three models.
    Both axes are means over each model's runs, as the Overview's headline and chart are.

    Args:
        in_source: each model's accuracy on the test images `where` names (e.g. "the clean subset"),
            its mean over seeds (core.evaluation.seeds.Spread.mean).
        same_recipe: whether the control trained with the others' recipe; if not, it is said.
    """
    transfer, control, scratch = roles([n for n in in_source if n in summary.models])
    if not (transfer and control and scratch):
        return ""
    out_of_source = out_of_source_means(summary)

    def gap(a: str, b: str) -> str:
        accuracy = (in_source[a] - in_source[b]) * 100
        recall = (out_of_source[a] - out_of_source[b]) * 100
        return f"{accuracy:+.1f} points of accuracy on {where}, {recall:+.0f} points of external recall"

    caveat = (
        ""
        if same_recipe
        else " The control has not been retrained with the others' recipe yet, so its differences "
        "mix pretraining with the recipe."
    )
    return (
        f"**What pretraining buys** ({titles[transfer]} minus {titles[control]}): {gap(transfer, control)}; "
        f"**what the architecture buys** ({titles[control]} minus {titles[scratch]}): "
        f"{gap(control, scratch)} (means over seeds; recall at matched specificity).{caveat}"
    )


def warnings_sentence(found: WarningsSummary) -> str:
    """What Live prediction's warnings catch on the external slices, and what they cost on Testing."""
    unwarned, alarms = len(found.unwarned), found.false_alarms["any"]
    missed_share, alarm_share = unwarned / found.external_images, alarms / found.test_right
    counts = {rule: count for rule, count in found.false_alarms.items() if rule != "any"}
    rules = ", ".join(f"{rule} {count}" for rule, count in counts.items())
    names = wording.listed(list(counts), "or")
    return (
        f"**Warnings, as Live prediction shows them.** {found.external_no_tumour} of the "
        f"{found.external_images} external tumour slices get *no tumor* from some model, and "
        f"**{unwarned} ({missed_share:.0%}) with no warning at all** ({names}; "
        f"{_against(missed_share, found.max_unwarned)}). Of the {found.test_right:,} "
        f"Testing images every model answers right, {alarms} ({alarm_share:.1%}) get a warning all the "
        f"same ({rules}; {_against(alarm_share, found.max_false_alarms)}). `{command('warnings')}`"
    )


def _against(share: float, limit: float) -> str:
    return f"{'within' if share <= limit else 'over'} the target of at most {limit:.0%}"
