import numpy as np
import pytest

from conftest import needs_dataset
from core.data.decode import DecodedImage
from core.models.registry import features_and_probabilities
from core.serving import ood
from core.studies import ood_report


def clusters(n_per_class: int, seed: int, dims: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """Four Gaussian classes around well-separated means."""
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(4), n_per_class)
    means = np.eye(4, dims) * 10
    return means[labels] + rng.normal(size=(len(labels), dims)), labels


def test_threshold_flags_its_share_of_genuine_images_and_far_points():
    features, labels = clusters(500, seed=0)
    validation, _ = clusters(1500, seed=1)
    guard = ood.fit(features, labels, validation)
    fresh, _ = clusters(3000, seed=2)
    assert (1 - ood.QUANTILE) / 3 < guard.flags(fresh).mean() < 3 * (1 - ood.QUANTILE)
    far = np.full((3, 8), 40.0)
    assert guard.flags(far).all()


def test_score_is_the_distance_to_the_nearest_class():
    features, labels = clusters(300, seed=3)
    guard = ood.fit(features, labels, features)
    at_means = guard.scores(guard.means)
    assert at_means == pytest.approx(np.zeros(4), abs=1e-6)


def test_guard_round_trips_through_its_file(tmp_path):
    features, labels = clusters(100, seed=4)
    guard = ood.fit(features, labels, features)
    guard.save(tmp_path / "ood.npz")
    loaded = ood.Guard.load(tmp_path / "ood.npz")
    assert loaded.threshold == pytest.approx(guard.threshold)
    np.testing.assert_array_equal(loaded.scores(features), guard.scores(features))


def test_synthetic_foreign_images_are_rgb_uint8():
    synthetic = [item for item in ood_report.foreign_images(size=64) if item[0] == "synthetic"]
    assert {name for _, name, _ in synthetic} >= {"black", "uniform noise", "colour gradient"}
    assert all(image.shape == (64, 64, 3) and image.dtype == np.uint8 for _, _, image in synthetic)


def test_feature_model_gives_penultimate_features_and_probabilities(tiny_cnn):
    model, _ = tiny_cnn
    network = features_and_probabilities(model)
    features, probabilities = network.predict(np.zeros((2, 64, 64, 3), np.float32), verbose=0)
    assert features.shape == (2, 128) and probabilities.shape == (2, 4)


def test_checker_scores_uploads_with_the_models_own_features(tiny_cnn):
    model, _ = tiny_cnn
    network = features_and_probabilities(model)
    rng = np.random.default_rng(0)
    genuine = rng.integers(0, 60, (40, 64, 64, 3)).astype(np.uint8)
    features = network.predict(genuine.astype(np.float32), verbose=0)[0]
    guard = ood.fit(features, np.arange(40) % 4, features)
    checker = ood.Checker(model, guard)
    np.testing.assert_allclose(checker.scores(genuine[:3]), guard.scores(features[:3]), rtol=1e-3, atol=1e-3)
    assert checker.warning(guard.threshold) is None
    assert "over the" in checker.warning(guard.threshold * 2)


def test_checker_says_too_small_to_judge_for_an_upload_it_had_to_enlarge(tiny_cnn):
    model, _ = tiny_cnn  # 64 px
    pixels = np.random.default_rng(0).integers(0, 60, (64, 64, 3)).astype(np.uint8)
    everything = ood.Checker(model, ood.Guard(np.zeros((4, 128), np.float32), np.eye(128), -1.0))
    nothing = ood.Checker(model, ood.Guard(np.zeros((4, 128), np.float32), np.eye(128), np.inf))
    small, wide = DecodedImage(pixels, 40, 300), DecodedImage(pixels, 300, 64)
    assert everything.flag(small) == ood.Flag("40x300 px, under the 64x64 px it takes", too_small=True)
    assert everything.flag(wide).too_small is False and "over the" in everything.flag(wide).reason
    assert nothing.flag(small) is None and nothing.flag(wide) is None


@pytest.mark.parametrize("shade", [0, 128, 255, (200, 30, 30)])
def test_a_flat_image_is_refused_even_where_the_guard_would_pass_it(tiny_cnn, shade):
    """A network's features of a flat image can land among the genuine ones; no scan is one shade."""
    model, _ = tiny_cnn
    passes_everything = ood.Checker(model, ood.Guard(np.zeros((4, 128), np.float32), np.eye(128), np.inf))
    flat = np.zeros((64, 64, 3), np.uint8) + np.asarray(shade, np.uint8)
    flat[0, 0] = 255 - flat[0, 0]  # one odd pixel (a JPEG's speck) does not make it a scan
    flag = passes_everything.flag(DecodedImage(flat, 40, 40))  # enlarged, yet blank, not too small
    assert flag is not None and not flag.too_small and "one flat shade" in flag.reason
    assert passes_everything.flags(flat[None]).tolist() == [True]
    scan = np.random.default_rng(0).integers(0, 60, (64, 64, 3)).astype(np.uint8)
    assert passes_everything.flag(DecodedImage(scan, 300, 300)) is None
    assert passes_everything.flags(scan[None]).tolist() == [False]


@needs_dataset
def test_no_scan_of_the_dataset_is_taken_for_a_flat_image():
    """The flat-image rule keeps far from real scans: every tenth Testing image spreads well wider."""
    from core import paths
    from core.data.dataset import TEST_SPLIT, find_samples
    from core.data.decode import decode_image

    samples = find_samples(paths.data_dir(), TEST_SPLIT)[::10]
    spreads = [ood.spread(decode_image(sample.path, 112)) for sample in samples]
    assert len(spreads) > 100 and min(spreads) > 4 * ood.BLANK_SPREAD
