"""The verdict at a glance: which of two models is more accurate, on the full test set and on the
clean subset, and whether the difference is more than chance and seed-to-seed noise.

Pure Python on core.evaluation.paired's summaries; the Overview and the HTML report show the same words.
"""

from dataclasses import dataclass

import pandas as pd

from core import wording
from core.data import subsets
from core.evaluation import paired, seeds, stats

SIGNIFICANCE = 0.05  # McNemar's p below this, and an interval clear of zero: a real difference


@dataclass(frozen=True)
class Row:
    """Two models, a and b, on one set of test images; the difference is a minus b."""

    subset: str  # subsets.FULL or subsets.CLEAN
    n_images: int
    accuracy: dict[str, float]  # model name -> accuracy on these images
    difference: stats.Interval  # accuracy of a minus b, paired bootstrap
    p_value: float  # McNemar's exact test
    spreads: dict[str, seeds.Spread] | None  # each model's runs over seeds, where known

    @property
    def clear(self) -> bool:
        """Whether the difference is unlikely to be chance: p < 0.05 and the interval excludes 0."""
        low, high = self.difference.low, self.difference.high
        return self.p_value < SIGNIFICANCE and (low > 0 or high < 0)

    @property
    def within_seed_noise(self) -> bool:
        """Whether the runs over seeds overlap: some run of the model behind scores at least as
        well as some run of the one ahead (not seeds.separated); False where seeds are unknown."""
        if not self.spreads:
            return False
        ahead, behind = sorted(self.spreads, key=lambda name: self.accuracy[name], reverse=True)
        return not seeds.separated(self.spreads[ahead].accuracy, self.spreads[behind].accuracy)


@dataclass(frozen=True)
class Verdict:
    names: tuple[str, str]
    rows: tuple[Row, ...]  # the full test set first, then the clean subset where there is one


def row(summary: paired.PairedSummary, subset: str, spreads: dict[str, seeds.Spread] | None = None) -> Row:
    """One line of the verdict from a paired summary (paired.paired_summary) of these images."""
    return Row(
        subset=subset,
        n_images=summary.n_images,
        accuracy={name: summary.intervals[name].accuracy.estimate for name in summary.names},
        difference=summary.difference.accuracy,
        p_value=summary.mcnemar.p_value,
        spreads={name: spreads[name] for name in summary.names} if spreads else None,
    )


def build(
    joined: pd.DataFrame,
    names: list[str],
    clean: frozenset[str] | None,
    runs: dict[str, dict[int, pd.DataFrame]] | None = None,
) -> Verdict:
    """The verdict on the first two models, on the full test set and on the clean subset.

    Args:
        joined: compare.joined_predictions of every model on the full test set.
        clean: the clean subset's test images (core.studies.audit), or None without an audit.
        runs: model name -> seed -> that run's test predictions (artifacts.load_run_predictions),
            for the seed spread; None leaves it out.
    """
    pair = names[:2]
    rows = []
    for subset, chosen in ((subsets.FULL, None), (subsets.CLEAN, clean)):
        if subset == subsets.CLEAN and not clean:
            continue
        images = paired.restrict(joined, chosen)
        spreads = (
            {name: seeds.spread({seed: paired.restrict(t, chosen) for seed, t in runs[name].items()})
             for name in pair}
            if runs else None
        )  # fmt: skip
        rows.append(row(paired.paired_summary(images, pair), subset, spreads))
    return Verdict(names=(pair[0], pair[1]), rows=tuple(rows))


def _winner(r: Row, names: tuple[str, str]) -> str:
    return names[0] if r.difference.estimate > 0 else names[1]


def _points(r: Row) -> str:
    """The leader's lead with its interval: "3.0 points (95% CI +1.3 to +4.8, McNemar p = 0.001)"."""
    d = r.difference
    low, high = (d.low, d.high) if d.estimate >= 0 else (-d.high, -d.low)  # the winner's lead
    interval = f"95% CI {low * 100:+.1f} to {high * 100:+.1f}"
    return f"{abs(d.estimate) * 100:.1f} points ({interval}, McNemar {wording.p_text(r.p_value)})"


def _on(r: Row) -> str:
    return f"the {r.subset.lower()} ({r.n_images:,} images)"


def headline(verdict: Verdict, titles: dict[str, str]) -> str:
    """The verdict in a few words, for a skimmer: who is more accurate, on which test images."""
    clear = [r for r in verdict.rows if r.clear and not r.within_seed_noise]
    winners = {_winner(r, verdict.names) for r in clear}
    if not clear:
        return "No clear winner on accuracy."
    if len(winners) > 1:
        return "The test sets disagree on which model is more accurate."
    where = wording.listed([f"the {r.subset.lower()}" for r in clear])
    return f"{titles[winners.pop()]} is more accurate on {where}."


def sentence(verdict: Verdict, titles: dict[str, str]) -> str:
    """The verdict in one sentence (Markdown), the honest test set first.

    The clean subset, which leaves out test images with a near duplicate in Training, decides;
    the full test set follows. A lead is called a lead only when `Row.clear`, and a lead whose
    runs over seeds overlap the other model's says so.
    """
    rows = sorted(verdict.rows, key=lambda r: r.subset != subsets.CLEAN)  # clean first
    parts = []
    for r in rows:
        winner = titles[_winner(r, verdict.names)]
        if r.difference.estimate == 0:  # the same accuracy: nobody leads
            parts.append(f"on {_on(r)}, **no clear winner**: the two are level, {_points(r)}")
        elif not r.clear:
            parts.append(f"on {_on(r)}, **no clear winner**: {winner} leads by {_points(r)}")
        elif r.within_seed_noise:
            parts.append(f"on {_on(r)}, **{winner}** leads by {_points(r)}, but the runs over seeds overlap")
        else:
            parts.append(f"on {_on(r)}, **{winner} is more accurate**, by {_points(r)}")
    text = "; ".join(parts)
    return text[0].upper() + text[1:] + "."


def _leader_first(verdict: Verdict) -> tuple[str, str]:
    """The two models, the one ahead where the sentence begins (the clean subset) first."""
    first = min(verdict.rows, key=lambda r: r.subset != subsets.CLEAN)
    a, b = verdict.names
    return (a, b) if first.difference.estimate >= 0 else (b, a)


def table(verdict: Verdict, titles: dict[str, str]) -> pd.DataFrame:
    """One row per test set: images, each model's accuracy (and seed spread), the difference, the
    model ahead on the clean subset first, as the sentence says it."""
    a, b = _leader_first(verdict)
    flip = a != verdict.names[0]
    rows = []
    for r in verdict.rows:
        line = {"test images": r.subset, "images": r.n_images}
        for name in (a, b):
            line[titles[name]] = r.accuracy[name]
        d = r.difference
        difference = stats.Interval(-d.estimate, -d.high, -d.low) if flip else d
        line[f"{titles[a]} − {titles[b]}"] = paired.points_with_interval(difference)
        line["McNemar p"] = wording.p_text(r.p_value).removeprefix("p ").removeprefix("= ")
        for name in (a, b) if r.spreads else ():
            spread = r.spreads[name]
            line[f"{titles[name]}: seed SD"] = (
                f"{spread.sd * 100:.1f} points" if spread.runs > 1 else "one run"
            )
        rows.append(line)
    return pd.DataFrame(rows)
