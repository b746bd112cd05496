"""A disk cache of decoded images, so each split is decoded once per image size.

One uncompressed .npz per (samples, size) under ~/.cache/brain-mri/ (or $BRAIN_MRI_CACHE),
never inside the repo. Its name holds the samples' fingerprint (file list and sizes), the
image size and the decoder version (a hash of the decode path's source, core.data.decode,
core.data.dicom and core.data.imagefile, with Pillow's and pydicom's versions), so adding, removing or
editing an image, or changing the decoder, decodes afresh.
"""

import hashlib
import inspect
import os
import zipfile
from functools import cache
from importlib import metadata
from pathlib import Path

import numpy as np

from core.data import decode, dicom, imagefile
from core.data.dataset import Sample, fingerprint
from core.data.decode import Decoded, load_images
from core.files import atomic_path

CACHE_ENV_VAR = "BRAIN_MRI_CACHE"
DEFAULT_CACHE_DIR = Path("~/.cache/brain-mri")
CACHE_FORMAT = 1  # bump when the file layout below changes
FIT_SPLIT, VALIDATION_SPLIT = "Training-fit", "Training-val"  # cache names of training's two parts


def cache_dir() -> Path:
    """$BRAIN_MRI_CACHE if set, else ~/.cache/brain-mri."""
    return Path(os.environ.get(CACHE_ENV_VAR) or DEFAULT_CACHE_DIR).expanduser()


@cache
def decoder_version() -> str:
    """A short hash of everything that decides the decoded pixels: the decode path's code, Pillow
    and pydicom."""
    parts = [str(CACHE_FORMAT), metadata.version("pillow"), metadata.version("pydicom")]
    parts += [inspect.getsource(module) for module in (decode, dicom, imagefile)]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:8]


def cache_path(samples: list[Sample], size: int, split_name: str, root: Path | None = None) -> Path:
    """Where `samples` decoded at `size` px are cached, e.g. Training-fit-7eb527fc-224px-d1a2b3c4.npz."""
    name = f"{split_name}-{fingerprint(samples)}-{size}px-{decoder_version()}.npz"
    return (cache_dir() if root is None else Path(root)) / name


def _remove_older_versions(path: Path) -> None:
    """Delete this entry's files from earlier decoder versions: they can never be read again."""
    prefix = path.name.rsplit("-", 1)[0]  # <split>-<fingerprint>-<size>px
    for stale in path.parent.glob(f"{prefix}-*.npz"):
        if stale != path:
            stale.unlink(missing_ok=True)


def _read(path: Path, samples: list[Sample]) -> Decoded | None:
    """The cached decode, or None if the file is missing or unusable."""
    by_relpath = {s.relpath: s for s in samples}
    try:
        with np.load(path, allow_pickle=False) as stored:
            images, labels = stored["images"], stored["labels"]
            kept = [by_relpath[relpath] for relpath in stored["kept"].tolist()]
            skipped = [(relpath, error) for relpath, error in stored["skipped"].tolist()]
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
        return None  # missing, truncated or written for another sample list: decode again
    if len(images) != len(kept) or len(kept) + len(skipped) != len(samples):
        return None
    return Decoded(images, labels, kept, skipped)


def _write(path: Path, decoded: Decoded) -> None:
    """Save atomically, so readers never see half a file."""
    with atomic_path(path) as temporary, temporary.open("wb") as file:
        np.savez(
            file,
            images=decoded.images,  # (N, S, S, 3) uint8
            labels=decoded.labels,  # (N,) int64
            kept=np.array([s.relpath for s in decoded.kept], dtype=str),
            skipped=np.array(decoded.skipped, dtype=str).reshape(-1, 2),  # (relpath, message) rows
        )


def cached_images(
    samples: list[Sample], size: int, split_name: str, enabled: bool = True, root: Path | None = None
) -> Decoded:
    """core.data.decode.load_images, read from the cache when this exact decode was saved before.

    Args:
        split_name: a readable prefix for the file name, e.g. "Training-fit".
        enabled: False decodes without reading or writing the cache (--no-cache).
        root: the cache folder (default: cache_dir()).

    """
    if not enabled:
        return load_images(samples, size)
    path = cache_path(samples, size, split_name, root)
    hit = _read(path, samples)
    if hit is not None:
        return hit
    decoded = load_images(samples, size)
    try:
        _write(path, decoded)
        _remove_older_versions(path)
    except OSError as error:  # a read-only or full disk costs speed, never the run
        print(f"warning: cannot write the decode cache {path}: {error}", flush=True)
    return decoded
