"""The test subsets every figure is given on: the full test set, and the clean subset.

The clean subset holds the test images with no exact or near duplicate in Training, as the
leakage audit (core.studies.audit, audit.json) found them.
"""

from dataclasses import dataclass

FULL, CLEAN = "Full test set", "Clean subset"


def clean_test_paths(audit: dict) -> list[str]:
    """Test images with no exact or near duplicate in Training, from the audit's result."""
    return [t["path"] for t in audit["test_images"] if not t["near"]]


def at_threshold(result: dict, threshold: float) -> dict:
    """The audit (artifacts.load_audit) with the test-train near duplicates redrawn at another
    `threshold` of the thumbnails' distance: each test image's near flag, the counts per class and
    the label conflicts. Exact copies stay near at any threshold; the within-split counts keep the
    audit's own threshold (their pairs are not stored)."""
    images = [{**t, "near": t["exact"] or t["distance"] <= threshold} for t in result["test_images"]]
    per_class = {
        name: {**counts, "near": sum(t["label"] == name and t["near"] for t in images)}
        for name, counts in result["test_vs_train"]["per_class"].items()
    }
    conflicts = [
        {"a": t["path"], "b": t["nearest_train"], "a_label": t["label"], "b_label": t["nearest_train_label"],
         "distance": t["distance"]}
        for t in images
        if t["near"] and t["label"] != t["nearest_train_label"]
    ]  # fmt: skip
    between = {
        **result["test_vs_train"],
        "near": sum(t["near"] for t in images),
        "per_class": per_class,
        "label_conflicts": conflicts,
    }
    method = {**result["method"], "threshold": threshold}
    return {**result, "method": method, "test_vs_train": between, "test_images": images}


@dataclass(frozen=True)
class AuditSummary:
    """The leakage audit's headline counts (audit.json, written by core.studies.audit)."""

    test_images: int
    exact: int  # test images byte-identical to a training image
    near: int  # test images with a near duplicate in Training, exact copies included
    clean: int  # the others: the clean subset
    conflicts_between: int  # test-train near duplicates whose labels disagree
    conflicts_within: int  # near-duplicate pairs inside a split whose labels disagree

    def share(self, count: int) -> float:
        """`count` as a share of the test images."""
        return count / max(self.test_images, 1)

    @property
    def parts(self) -> dict[str, int]:
        """The test images in three kinds that add up to them, by what the pages call each."""
        return {
            "Same file in Training": self.exact,
            "Near duplicate, not the same file": self.near_only,
            "Clean subset": self.clean,
        }

    @property
    def near_only(self) -> int:
        """Test images with a near duplicate in Training that is not the same file."""
        return self.near - self.exact

    @property
    def near_share(self) -> float:
        return self.share(self.near)

    @classmethod
    def from_json(cls, result: dict) -> "AuditSummary":
        """The headline counts of an audit (audit.json, or the dict core.studies.audit returns)."""
        between = result["test_vs_train"]
        return cls(
            test_images=result["dataset"]["test_images"],
            exact=between["exact"],
            near=between["near"],
            clean=len(clean_test_paths(result)),
            conflicts_between=len(between["label_conflicts"]),
            conflicts_within=sum(len(split["label_conflicts"]) for split in result["within"].values()),
        )
