"""Which release of the Kaggle Brain Tumor MRI Dataset a test set comes from, by its size.

Two releases circulate under the same name: the original 7,023 images (1,311 of them in
Testing) and a 2024 re-split of 7,200 images (1,600 in Testing). Figures on one are not
comparable with figures on the other, so every page that shows metrics names the release.
"""

from dataclasses import dataclass
from pathlib import Path

from core.data.dataset import TEST_SPLIT, TRAIN_SPLIT, DatasetError, find_samples, fingerprint

RELEASES = {1311: "the 7,023-image release", 1600: "the 7,200-image release"}  # by test images


def describe(test_images: int) -> str:
    """The release a test set of this size belongs to, in words."""
    return RELEASES.get(test_images, "an unrecognised release")


@dataclass(frozen=True)
class Folder:
    train_images: int
    test_images: int
    test_fingerprint: str

    @property
    def release(self) -> str:
        return describe(self.test_images)


def read_folder(data_dir: Path) -> Folder:
    """Image counts and test fingerprint of a dataset folder.

    Raises:
        DatasetError: the folder is not in the Kaggle layout.
    """
    test = find_samples(data_dir, TEST_SPLIT)
    try:
        train_images = len(find_samples(data_dir, TRAIN_SPLIT))
    except DatasetError:  # a folder with only Testing/ is enough to look at test images
        train_images = 0
    return Folder(train_images, len(test), fingerprint(test))
