""" "New hospital" mode: a folder of slices streamed through the models one at a time, with a running
tally per model of the tumours found and missed at the validated operating point.

A slice counts as found when P(tumour) = 1 - P(notumor) is above the model's operating threshold,
chosen on the validation split (core.evaluation.curves.operating_threshold) on the same calibrated
probabilities the app shows: matched specificity, not the model's own answer.
"""

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from core.data.dataset import NOTUMOR, PROBABILITY_COLUMNS, DatasetError
from core.evaluation import curves
from core.evaluation.folder_eval import NoLabelFolders, find_labelled
from core.serving.predict import NO_TUMOUR, calibrated, image_files
from core.wording import share

# The validated operating point, in words: hospital mode counts by it, Live prediction answers by it.
OPERATING_POINT = (
    f"P(tumour) above the threshold that keeps {curves.TARGET_SPECIFICITY:.0%} of validation no-tumour "
    "slices below it, on the calibrated probabilities shown everywhere"
)


@dataclass
class Tally:
    """One model's running count over the slices streamed so far (mutable: it grows slice by slice)."""

    tumours: int = 0
    found: int = 0  # tumours above the operating threshold
    warned: int = 0  # missed tumours the guard flagged, so the user was warned
    no_tumour: int = 0
    false_alarms: int = 0  # no-tumour slices above the threshold
    missed: list[str] = field(default_factory=list)  # the missed tumours' files, relative to the folder

    def add(self, file: str, tumour: bool, called: bool, flagged: bool) -> None:
        if tumour:
            self.tumours += 1
            self.found += called
            if not called:
                self.missed.append(file)
                self.warned += flagged
        else:
            self.no_tumour += 1
            self.false_alarms += called

    def sentence(self) -> str:
        """ "Found 80 of 98 tumours (82%); missed 18, 2 of them with a warning"."""
        text = f"Found {share(self.found, self.tumours)} tumours"
        if self.missed:
            text += f"; missed {len(self.missed):,}, {self.warned:,} of them with a warning"
        if self.no_tumour:
            text += f"; false alarms on {share(self.false_alarms, self.no_tumour)} no-tumour slices"
        return text


def slices(folder: Path, all_tumours: bool) -> tuple[list[tuple[Path, bool]], bool]:
    """(file, shows a tumour) of every slice, and whether those labels come from label folders
    (core.evaluation.folder_eval's layouts); for a folder none of whose sub-folders is a label,
    and `all_tumours`, every image in it counts as a tumour.

    Raises:
        DatasetError: no such folder, no images, some sub-folders not labels while others are, or
            no label folders and not `all_tumours`.
    """
    try:
        labelled = find_labelled(folder)
    except NoLabelFolders as error:
        if not all_tumours:
            raise
        files = list(image_files(Path(folder).expanduser()))  # find_labelled found it readable
        if not files:
            raise DatasetError(f"no images in {folder}") from error
        return [(file, True) for file in files], False
    return [(file, label != NO_TUMOUR) for file, label in zip(labelled.files, labelled.labels)], True


def operating_threshold(
    validation: pd.DataFrame, temperature: float, target: float = curves.TARGET_SPECIFICITY
) -> float:
    """The P(tumour) threshold that keeps `target` of the validation no-tumour slices below it, on
    the validation probabilities calibrated with `temperature` (as the app shows them)."""
    table = validation.copy()
    table[PROBABILITY_COLUMNS] = calibrated(validation[PROBABILITY_COLUMNS].to_numpy(float), temperature)
    return curves.operating_threshold(table, target)


def tumour_probability(probabilities: np.ndarray) -> float:
    return float(1.0 - probabilities[NOTUMOR])
