"""The example cases Live prediction offers one click away, picked from the shipped predictions
and the leakage audit: each shows something a demo should show.

    easy        a clean test image every model gets right, with the surest answers
    disputed    a meningioma the models answer in the most different ways
    leaked      a test image that is the same file as a training image (its twin shown beside it)
    photo       a drawn picture that is no MRI slice: the guard refuses it

Pure pandas and Pillow; the images themselves are read from the dataset folder.
"""

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image, ImageDraw

from core.data.perturb import png_bytes

PHOTO_NAME = "photo.png"  # the drawn picture's name where a file name is shown


@dataclass(frozen=True)
class Example:
    """One example case: a test image of the dataset (or the drawn photo, path None)."""

    key: str  # easy, disputed, leaked or photo
    title: str  # the button's label
    why: str  # one sentence on what it shows
    path: str | None  # relative to the dataset folder; None: the drawn photo (`photo_bytes`)
    twin: str | None = None  # the training image it duplicates, for the leaked case


def _easy(joined: pd.DataFrame, names: list[str], clean: set[str]) -> Example | None:
    right = joined[joined[[f"{n}_correct" for n in names]].all(axis=1) & joined["path"].isin(clean)]
    if right.empty:
        return None
    surest = right.loc[right[[f"{n}_confidence" for n in names]].min(axis=1).idxmax()]
    return Example(
        "easy", "An easy case", "A clean test image every model gets right, and surely.", surest["path"]
    )


def _disputed(joined: pd.DataFrame, names: list[str], flagged: frozenset[str]) -> Example | None:
    meningiomas = joined[(joined["true_label"] == "meningioma") & ~joined["path"].isin(flagged)]
    if meningiomas.empty or len(names) < 2:
        return None
    ways = meningiomas[[f"{n}_label" for n in names]].nunique(axis=1)
    if ways.max() < 2:
        return None
    row = meningiomas.loc[ways.idxmax()]
    return Example(
        "disputed",
        f"A meningioma answered {ways.max()} ways",
        f"A meningioma of the test set to which the models give {ways.max()} different answers.",
        row["path"],
    )


def _leaked(audit: dict | None) -> Example | None:
    exact = [t for t in (audit or {}).get("test_images", []) if t["exact"]]
    if not exact:
        return None
    first = min(exact, key=lambda t: t["path"])
    return Example(
        "leaked",
        "A leaked test image",
        "A test image that is the same file as a training image (beside it): the models have seen it.",
        first["path"],
        first["nearest_train"],
    )


PHOTO = Example(
    "photo",
    "A photo",
    "A picture that is no brain MRI slice: the guard refuses it rather than name a tumour.",
    None,
)


def pick(
    joined: pd.DataFrame, names: list[str], audit: dict | None, flagged: frozenset[str] = frozenset()
) -> list[Example]:
    """The example cases this test set and audit hold, in the tray's order (the photo always).

    Args:
        joined: compare.joined_predictions of every model on the full test set.
        audit: the leakage audit (artifacts.load_audit), or None.
        flagged: test images some model's guard refuses (flagged_paths): the disputed case is
            chosen among the others, so its answers are shown.
    """
    clean = {t["path"] for t in audit["test_images"] if not t["near"]} if audit else set(joined["path"])
    found = [_easy(joined, names, clean), _disputed(joined, names, flagged), _leaked(audit), PHOTO]
    return [example for example in found if example is not None]


def flagged_paths(names: list[str], root: Path | None = None) -> frozenset[str]:
    """The test images that some model's out-of-distribution guard refuses (predictions.csv's score)."""
    from core import artifacts
    from core.serving.ood import SCORE_COLUMN, load_guard

    flagged = set()
    for name in names:
        table = artifacts.load_predictions(name, root)
        flagged |= set(table.loc[table[SCORE_COLUMN] > load_guard(name, root).threshold, "path"])
    return frozenset(flagged)


def photo_bytes(size: int = 256) -> bytes:
    """A drawn landscape in colour (sky, sun, hills) as PNG bytes: plainly not a brain MRI slice."""
    rows = np.linspace(0.0, 1.0, size)[:, None]
    sky = (np.array([90, 160, 235]) * (1 - rows) + np.array([200, 225, 250]) * rows)[:, None, :]
    image = Image.fromarray(np.broadcast_to(sky, (size, size, 3)).astype(np.uint8).copy())
    draw = ImageDraw.Draw(image)
    draw.ellipse((size * 0.65, size * 0.1, size * 0.85, size * 0.3), fill=(255, 215, 60))
    draw.polygon([(0, size), (0, size * 0.6), (size * 0.4, size * 0.45), (size, size * 0.7), (size, size)],
                 fill=(70, 150, 60))  # fmt: skip
    draw.rectangle((size * 0.2, size * 0.55, size * 0.32, size * 0.7), fill=(150, 60, 40))
    return png_bytes(np.asarray(image))
