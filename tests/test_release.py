from conftest import write_dataset
from core.data import release


def test_known_releases_are_named_by_their_test_set_size():
    assert release.describe(1311) == "the 7,023-image release"
    assert release.describe(1600) == "the 7,200-image release"
    assert release.describe(24) == "an unrecognised release"


def test_inspect_counts_a_folder_and_its_fingerprint_follows_the_files(tmp_path):
    folder = write_dataset(tmp_path / "data", per_class=3)
    first = release.read_folder(folder)
    assert (first.train_images, first.test_images) == (12, 12)
    assert first.release == "an unrecognised release"
    (folder / "Testing" / "glioma" / "000.jpg").unlink()
    assert release.read_folder(folder).test_fingerprint != first.test_fingerprint


def test_a_folder_with_only_testing_is_enough(tmp_path):
    folder = write_dataset(tmp_path / "data", per_class=2)
    for path in sorted((folder / "Training").rglob("*"), reverse=True):
        path.unlink() if path.is_file() else path.rmdir()
    (folder / "Training").rmdir()
    assert release.read_folder(folder).train_images == 0
