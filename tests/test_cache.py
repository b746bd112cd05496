"""The decoded-image cache: a miss decodes and saves, a hit reads, any change decodes afresh."""

import numpy as np
import pytest

from core import paths
from core.data import cache
from core.data.dataset import TRAIN_SPLIT, find_samples
from core.data.decode import load_images


@pytest.fixture
def cache_root(tmp_path, monkeypatch):
    root = tmp_path / "cache"
    monkeypatch.setenv(cache.CACHE_ENV_VAR, str(root))
    return root


@pytest.fixture
def decodes(monkeypatch):
    """Counts the calls to load_images made through the cache."""
    calls = []

    def counting(samples, size):
        calls.append(len(samples))
        return load_images(samples, size)

    monkeypatch.setattr(cache, "load_images", counting)
    return calls


def assert_same(got, expected):
    np.testing.assert_array_equal(got[0], expected[0])
    np.testing.assert_array_equal(got[1], expected[1])
    assert got[2:] == expected[2:]


def test_a_miss_decodes_and_saves_a_hit_reads_the_same_arrays(dataset_dir, cache_root, decodes):
    samples = find_samples(dataset_dir, TRAIN_SPLIT)
    first = cache.cached_images(samples, 40, "Training")
    assert decodes == [24] and [p.name for p in cache_root.iterdir()] == [
        cache.cache_path(samples, 40, "Training").name
    ]
    second = cache.cached_images(samples, 40, "Training")
    assert decodes == [24]  # read from disk
    assert_same(second, first)
    assert_same(second, load_images(samples, 40))
    assert second[0].dtype == np.uint8 and second[0].shape == (24, 40, 40, 3)


def test_another_size_or_sample_list_is_another_entry(dataset_dir, cache_root, decodes):
    samples = find_samples(dataset_dir, TRAIN_SPLIT)
    cache.cached_images(samples, 40, "Training")
    cache.cached_images(samples, 48, "Training")
    cache.cached_images(samples[:10], 40, "Training")
    assert decodes == [24, 24, 10] and len(list(cache_root.iterdir())) == 3


def test_an_edited_image_changes_the_fingerprint_and_decodes_again(dataset_dir, cache_root, decodes):
    samples = find_samples(dataset_dir, TRAIN_SPLIT)
    before = cache.cached_images(samples, 40, "Training")
    edited = samples[0].path
    edited.write_bytes(samples[5].path.read_bytes())  # another image, another file size
    after = cache.cached_images(samples, 40, "Training")
    assert decodes == [24, 24]
    assert not np.array_equal(after[0][0], before[0][0])
    np.testing.assert_array_equal(after[0][0], after[0][5])


def test_a_new_decoder_version_decodes_again(dataset_dir, cache_root, decodes, monkeypatch):
    samples = find_samples(dataset_dir, TRAIN_SPLIT)
    cache.cached_images(samples, 40, "Training")
    cache.cached_images(samples, 48, "Training")
    version = cache.decoder_version()
    monkeypatch.setattr(cache, "decoder_version", lambda: "0000beef")
    cache.cached_images(samples, 40, "Training")
    assert decodes == [24, 24, 24]
    # The 40 px entry of the old decoder is gone (it can never be read again); 48 px stays.
    names = sorted(p.name for p in cache_root.iterdir())
    assert [name.split("-")[-2:] for name in names] == [["40px", "0000beef.npz"], ["48px", f"{version}.npz"]]


def test_the_decoder_version_follows_the_decoding_code(monkeypatch):
    version = cache.decoder_version()
    monkeypatch.setattr(cache.inspect, "getsource", lambda module: "def decode_image(): ...")
    cache.decoder_version.cache_clear()
    try:
        assert cache.decoder_version() != version
    finally:
        cache.decoder_version.cache_clear()


def test_disabled_neither_reads_nor_writes(dataset_dir, cache_root, decodes):
    samples = find_samples(dataset_dir, TRAIN_SPLIT)
    cache.cached_images(samples, 40, "Training")
    cache.cached_images(samples, 40, "Training", enabled=False)
    assert decodes == [24, 24] and len(list(cache_root.iterdir())) == 1


def test_a_damaged_file_is_decoded_again_and_replaced(dataset_dir, cache_root, decodes):
    samples = find_samples(dataset_dir, TRAIN_SPLIT)
    first = cache.cached_images(samples, 40, "Training")
    path = cache.cache_path(samples, 40, "Training")
    path.write_bytes(path.read_bytes()[:1000])  # truncated
    assert_same(cache.cached_images(samples, 40, "Training"), first)
    assert_same(cache.cached_images(samples, 40, "Training"), first)
    assert decodes == [24, 24]
    assert [p.name for p in cache_root.iterdir()] == [path.name]  # no temporary files left


def test_skipped_files_are_remembered(dataset_dir, cache_root, decodes):
    samples = find_samples(dataset_dir, TRAIN_SPLIT)
    samples[3].path.write_bytes(b"not an image")
    first = cache.cached_images(samples, 40, "Training")
    second = cache.cached_images(samples, 40, "Training")
    assert decodes == [24]
    assert_same(second, first)
    assert [relpath for relpath, _ in second[3]] == [samples[3].relpath] and len(second[2]) == 23


def test_the_cache_folder_comes_from_the_env_var_else_the_home_cache(monkeypatch, tmp_path):
    monkeypatch.setenv(cache.CACHE_ENV_VAR, str(tmp_path))
    assert cache.cache_dir() == tmp_path
    monkeypatch.delenv(cache.CACHE_ENV_VAR)
    assert cache.cache_dir() == cache.DEFAULT_CACHE_DIR.expanduser()
    assert not cache.cache_dir().is_relative_to(paths.ROOT)  # never inside the repo


def test_an_unwritable_cache_still_returns_the_images(dataset_dir, tmp_path, monkeypatch, decodes):
    blocker = tmp_path / "file"
    blocker.write_text("a file where the cache folder should be")
    monkeypatch.setenv(cache.CACHE_ENV_VAR, str(blocker / "cache"))
    samples = find_samples(dataset_dir, TRAIN_SPLIT)
    assert_same(cache.cached_images(samples, 40, "Training"), load_images(samples, 40))
