from pathlib import Path

import pytest

from core import paths


def test_data_dir_flag_beats_env_beats_default(monkeypatch, tmp_path):
    monkeypatch.delenv(paths.DATA_ENV_VAR, raising=False)
    assert paths.data_dir() == paths.DEFAULT_DATA_DIR
    monkeypatch.setenv(paths.DATA_ENV_VAR, str(tmp_path / "env"))
    assert paths.data_dir() == tmp_path / "env"
    assert paths.data_dir(tmp_path / "flag") == tmp_path / "flag"


def test_weights_default_to_keras_imagenet_path(monkeypatch):
    monkeypatch.delenv(paths.WEIGHTS_ENV_VAR, raising=False)
    assert paths.imagenet_weights() == "imagenet"


def test_weights_from_env_or_flag(monkeypatch, tmp_path):
    weights = tmp_path / "w.h5"
    weights.write_bytes(b"x")
    monkeypatch.setenv(paths.WEIGHTS_ENV_VAR, str(weights))
    assert paths.imagenet_weights() == str(weights)
    with pytest.raises(FileNotFoundError, match="nope.h5"):
        paths.imagenet_weights(tmp_path / "nope.h5")


def test_root_holds_the_project():
    assert (paths.ROOT / "core" / "paths.py").is_file()
    assert paths.ARTIFACTS_DIR == paths.ROOT / "artifacts"
    assert isinstance(paths.DEFAULT_DATA_DIR, Path)
