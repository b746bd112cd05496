"""Near-duplicate images, and a validation split that never separates them.

Exact duplicates share their bytes (SHA-256). Near duplicates are compared as 32x32 grayscale
thumbnails standardised to zero mean and unit variance, so brightness, contrast, resizing and
JPEG re-compression do not hide a copy. Their distance is the RMS difference of the two
thumbnails: 0 for the same picture, about 1.4 for unrelated ones.

The threshold was chosen by looking at pairs on the Kaggle release: the nearest-training-image
distance of the test images is bimodal, with about 475 test images under 0.05 (the same scan
re-encoded or re-windowed), almost none between 0.05 and 0.125, then a broad mode of different
scans from 0.125 up, where adjacent slices of one patient start. 0.10 sits in that gap.

Training's validation split groups images by duplicate: images linked by a chain of near
duplicates form one group, and a group lies wholly in the fitted part or wholly in validation,
so validation never scores an image the model was fitted on under another name.
"""

import hashlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from core.data.dataset import Sample, split_validation
from core.data.decode import decode_image
from core.data.imagefile import ImageError

THUMBNAIL_SIDE = 32
NEAR_DUPLICATE_DISTANCE = 0.10
BLOCK = 512  # rows of the distance matrix computed at a time: memory stays small


def signature(path: Path) -> tuple[str, np.ndarray]:
    """(SHA-256 of the file, standardised (1024,) float32 grayscale thumbnail).

    Raises:
        ImageError: the file is not a usable image.
    """
    pixels = decode_image(path, THUMBNAIL_SIDE).mean(axis=2, dtype=np.float32).ravel()
    digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()
    return digest, (pixels - pixels.mean()) / (pixels.std() + 1e-6)


def signatures(samples: list[Sample]) -> tuple[list[Sample], list[str], np.ndarray, list[str]]:
    """Signatures of the readable samples: (kept, hashes, (N, 1024) thumbnails, skipped relpaths)."""

    def safe(sample: Sample) -> tuple[str, np.ndarray] | None:
        try:
            return signature(sample.path)
        except ImageError:  # listed by the callers, never fatal
            return None

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(safe, samples))
    kept = [(s, r) for s, r in zip(samples, results) if r is not None]
    skipped = [s.relpath for s, r in zip(samples, results) if r is None]
    thumbnails = np.stack([r[1] for _, r in kept]) if kept else np.zeros((0, THUMBNAIL_SIDE**2), np.float32)
    return [s for s, _ in kept], [r[0] for _, r in kept], thumbnails, skipped


def distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """RMS distance between every row of `a` (N, D) and of `b` (M, D), both standardised: (N, M)."""
    correlation = (a @ b.T) / a.shape[1]
    return np.sqrt(np.clip(2 - 2 * correlation, 0, None))


def near_pairs(
    thumbnails: np.ndarray, threshold: float = NEAR_DUPLICATE_DISTANCE
) -> list[tuple[int, int, float]]:
    """(i, j, distance) for every i < j whose thumbnails are within `threshold`."""
    found = []
    for start in range(0, len(thumbnails), BLOCK):
        block = distances(thumbnails[start : start + BLOCK], thumbnails)
        for i, j in zip(*np.nonzero(block <= threshold)):
            if j > i + start:
                found.append((int(i + start), int(j), float(block[i, j])))
    return found


def groups(samples: list[Sample], threshold: float = NEAR_DUPLICATE_DISTANCE) -> np.ndarray:
    """(N,) group ids: samples joined by a chain of exact or near duplicates share one.

    An unreadable sample is a group of its own (training skips it anyway).
    """
    from scipy.sparse import coo_matrix  # imported on use: pages read this module at start-up
    from scipy.sparse.csgraph import connected_components

    kept, hashes, thumbnails, _ = signatures(samples)
    index = {s.relpath: i for i, s in enumerate(samples)}
    links = [
        (index[kept[i].relpath], index[kept[j].relpath]) for i, j, _ in near_pairs(thumbnails, threshold)
    ]
    first_with_hash: dict[str, int] = {}
    for sample, digest in zip(kept, hashes):  # exact copies whose thumbnails differ (never, in practice)
        links.append((first_with_hash.setdefault(digest, index[sample.relpath]), index[sample.relpath]))
    rows, columns = np.array(links, dtype=int).reshape(-1, 2).T
    graph = coo_matrix((np.ones(len(links)), (rows, columns)), shape=(len(samples), len(samples)))
    return connected_components(graph, directed=False)[1]


def validation_split(samples: list[Sample], fraction: float, seed: int) -> tuple[list[Sample], list[Sample]]:
    """Training's (fit, validation) split: stratified by class, grouped by near duplicate.

    Grouping reads every image's thumbnail: a few seconds for the Kaggle Training split.
    """
    return split_validation(samples, fraction, seed, groups=groups(samples))


def leak(fit: list[Sample], validation: list[Sample], threshold: float = NEAR_DUPLICATE_DISTANCE) -> dict:
    """How many validation images have an exact or near duplicate among the fitted ones."""
    _, fit_hashes, fit_thumbs, _ = signatures(fit)
    kept, val_hashes, val_thumbs, _ = signatures(validation)
    near = np.zeros(len(kept), bool)
    for start in range(0, len(kept), BLOCK):
        block = distances(val_thumbs[start : start + BLOCK], fit_thumbs)
        near[start : start + BLOCK] = block.min(axis=1, initial=np.inf) <= threshold
    near |= np.isin(val_hashes, fit_hashes)
    return {"validation_images": len(kept), "near": int(near.sum())}
