import pandas as pd
import pytest

from core.data import subsets
from core.evaluation import seeds, stats, verdict

TITLES = {"a": "Model A", "b": "Model B"}


def row(subset: str, estimate: float, low: float, high: float, p: float, sds=None) -> verdict.Row:
    spreads = None
    if sds is not None:  # two runs per model whose accuracies differ by sd * sqrt(2)
        spreads = {
            name: seeds.Spread((1, 2), (0.9, 0.9 + sd * 2**0.5), (0.9, 0.9)) for name, sd in zip("ab", sds)
        }
    return verdict.Row(
        subset, 1000, {"a": 0.9, "b": 0.9 - estimate}, stats.Interval(estimate, low, high), p, spreads
    )


@pytest.mark.parametrize(
    "rows, headline",
    [
        (
            [row(subsets.FULL, 0.04, 0.02, 0.06, 1e-5), row(subsets.CLEAN, 0.03, 0.01, 0.05, 0.001)],
            "Model A is more accurate on the full test set and the clean subset.",
        ),
        (
            [row(subsets.FULL, -0.04, -0.06, -0.02, 1e-5), row(subsets.CLEAN, -0.01, -0.03, 0.01, 0.3)],
            "Model B is more accurate on the full test set.",
        ),
        ([row(subsets.FULL, 0.01, -0.01, 0.03, 0.2)], "No clear winner on accuracy."),
        (  # clear by McNemar, but no larger than the runs' spread over seeds
            [row(subsets.FULL, 0.01, 0.005, 0.015, 0.01, sds=(0.01, 0.002))],
            "No clear winner on accuracy.",
        ),
        (
            [row(subsets.FULL, 0.04, 0.02, 0.06, 1e-5), row(subsets.CLEAN, -0.03, -0.05, -0.01, 0.001)],
            "The test sets disagree on which model is more accurate.",
        ),
    ],
)
def test_the_headline_names_a_winner_only_where_the_difference_is_clear(rows, headline):
    assert verdict.headline(verdict.Verdict(("a", "b"), tuple(rows)), TITLES) == headline


def test_the_sentence_leads_with_the_clean_subset_and_gives_interval_and_p():
    found = verdict.Verdict(
        ("a", "b"),
        (row(subsets.FULL, -0.042, -0.056, -0.027, 2e-8), row(subsets.CLEAN, 0.004, -0.01, 0.02, 0.6)),
    )
    text = verdict.sentence(found, TITLES)
    assert text.startswith(
        "On the clean subset (1,000 images), **no clear winner**: Model A leads by 0.4 points"
    )
    assert "on the full test set (1,000 images), **Model B is more accurate**, by 4.2 points" in text
    assert "(95% CI +2.7 to +5.6, McNemar p < 0.001)" in text  # the winner's lead, the right way round


def test_the_same_accuracy_is_called_level_not_a_lead():
    found = verdict.Verdict(("a", "b"), (row(subsets.CLEAN, 0.0, -0.014, 0.013, 1.0),))
    assert verdict.sentence(found, TITLES) == (
        "On the clean subset (1,000 images), **no clear winner**: the two are level, "
        "0.0 points (95% CI -1.4 to +1.3, McNemar p = 1.000)."
    )


def test_seed_noise_is_named_in_the_sentence():
    found = verdict.Verdict(("a", "b"), (row(subsets.FULL, 0.01, 0.005, 0.015, 0.01, sds=(0.01, 0.0)),))
    assert "but the runs over seeds overlap" in verdict.sentence(found, TITLES)


def test_a_lead_beyond_the_seeds_is_one_every_run_of_the_leader_holds():
    assert seeds.separated([0.96, 0.95, 0.97], [0.94, 0.93, 0.949])
    assert not seeds.separated([0.96, 0.95, 0.97], [0.94, 0.93, 0.95])  # a tie is an overlap
    assert seeds.separated([0.6], [0.55, 0.7])  # one run: no spread to weigh
    spreads = {
        "a": seeds.Spread((1, 2), (0.95, 0.96), (0.9,) * 2),
        "b": seeds.Spread((1, 2), (0.9, 0.7), (0.9,) * 2),
    }
    ahead = verdict.Row(
        subsets.FULL, 1000, {"a": 0.95, "b": 0.9}, stats.Interval(0.05, 0.03, 0.07), 1e-5, spreads
    )
    assert ahead.clear and not ahead.within_seed_noise  # b's seeds spread 20 points, but never reach a's
    found = verdict.Verdict(("a", "b"), (ahead,))
    assert verdict.headline(found, TITLES) == "Model A is more accurate on the full test set."


def test_build_scores_both_subsets_and_the_table_shows_them(tmp_path):
    joined = pd.DataFrame(
        {
            "path": [f"{i}" for i in range(8)],
            "true_label": ["glioma"] * 8,
            "a_label": ["glioma"] * 8,
            "b_label": ["glioma"] * 4 + ["meningioma"] * 4,
        }
    )
    found = verdict.build(joined, ["a", "b"], frozenset({"0", "1", "4", "5"}))
    full, clean = found.rows
    assert (full.subset, full.n_images, full.accuracy) == (subsets.FULL, 8, {"a": 1.0, "b": 0.5})
    assert (clean.subset, clean.n_images, clean.accuracy["b"]) == (subsets.CLEAN, 4, 0.5)
    assert full.difference.estimate == pytest.approx(0.5) and full.p_value == pytest.approx(2 / 16)
    table = verdict.table(found, TITLES)
    assert table["test images"].tolist() == [subsets.FULL, subsets.CLEAN]
    assert table["Model A − Model B"][0].startswith("+50.0 points")
    assert table["McNemar p"][0] == "0.125" and not any("seed SD" in column for column in table)
    assert len(verdict.build(joined, ["a", "b"], None).rows) == 1  # no audit: no clean subset


def test_the_table_puts_the_model_ahead_on_the_clean_subset_first_as_the_sentence_does():
    found = verdict.Verdict(
        ("a", "b"),
        (row(subsets.FULL, -0.042, -0.056, -0.027, 2e-8), row(subsets.CLEAN, -0.03, -0.048, -0.013, 0.001)),
    )
    table = verdict.table(found, TITLES)
    assert list(table.columns[2:4]) == ["Model B", "Model A"]
    assert table["Model B − Model A"].tolist() == [
        "+4.2 points (95% CI +2.7 to +5.6)",
        "+3.0 points (95% CI +1.3 to +4.8)",
    ]
