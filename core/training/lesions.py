"""Lesions cut from boxed tumour slices and pasted into no-tumour slices (training only).

The Kaggle release's tumours come from collections whose no-tumour slices are few, and its
no-tumour slices from a collection with no tumours in the release (core.data.provenance): a model
can tell the classes apart by acquisition alone. A pasted lesion puts a tumour into a
no-tumour slice's acquisition, labelled with the lesion's class, so only the lesion tells the
classes apart there.

A paste takes the tumour box of a training slice (the tumour-box file), an elliptical mask
inside it with a soft edge, scales the lesion's intensities so that its contrast to the
surrounding tissue stays what it was, resizes and mirrors it at random and blends it into a
no-tumour slice at a place where the window lies inside the head. Numpy and Pillow only.
"""

from typing import TYPE_CHECKING

import numpy as np
from PIL import Image
from scipy import ndimage

from core.data.decode import Decoded
from core.data.provenance import NOTUMOR, Box

if TYPE_CHECKING:
    from core.models.config import ModelConfig

HEAD_LEVEL = 25  # grey levels (0-255): darker pixels are background
SCALES = (0.8, 1.25)  # random resize of the lesion
MARGIN = 1.4  # the cut window, as a multiple of the box: the lesion's surroundings for its contrast
MIN_SIDE = 6  # pixels: a smaller box gives no usable lesion


def cut(image: np.ndarray, box: Box) -> tuple[np.ndarray, np.ndarray] | None:
    """(grey window around the box, soft lesion mask in it), or None if the box is too small.

    The lesion's intensities are divided by the mean of its surroundings (the window outside the
    mask, inside the head), so they come out as contrast to the tissue around it.
    """
    side = image.shape[0]
    grey = image[..., 0].astype(np.float32)
    half_w, half_h = box.width * side * MARGIN / 2, box.height * side * MARGIN / 2
    x0, x1 = int(max(0, box.x_center * side - half_w)), int(min(side, box.x_center * side + half_w))
    y0, y1 = int(max(0, box.y_center * side - half_h)), int(min(side, box.y_center * side + half_h))
    if min(x1 - x0, y1 - y0) < MIN_SIDE:
        return None
    window = grey[y0:y1, x0:x1]
    lesion_mask = _inside(window.shape, 1 / MARGIN)  # the box's inscribed ellipse, soft-edged
    surroundings = window[(lesion_mask == 0) & (window > HEAD_LEVEL)]
    if surroundings.size < 10:
        return None
    return window / max(float(surroundings.mean()), 1.0), lesion_mask


def _inside(shape: tuple[int, int], fraction: float) -> np.ndarray:
    """(H, W) mask: an ellipse over the central `fraction` of the window on each axis, 1 inside
    and falling smoothly to 0 over its outer 40%."""
    height, width = shape
    rows = ((np.arange(height) + 0.5) / height * 2 - 1) / fraction
    columns = ((np.arange(width) + 0.5) / width * 2 - 1) / fraction
    radius = np.sqrt(rows[:, None] ** 2 + columns[None, :] ** 2)
    t = np.clip((1 - radius) / 0.4, 0, 1)
    return t * t * (3 - 2 * t)  # smoothstep


def paste(
    target: np.ndarray, contrast: np.ndarray, mask: np.ndarray, rng: np.random.Generator
) -> np.ndarray | None:
    """`target` (S, S, 3) uint8 with the lesion blended in at a random place inside the head, or
    None where the head has no room for it."""
    scale = rng.uniform(*SCALES)
    height = max(MIN_SIDE, round(contrast.shape[0] * scale))
    width = max(MIN_SIDE, round(contrast.shape[1] * scale))
    contrast = np.asarray(Image.fromarray(contrast).resize((width, height), Image.Resampling.BILINEAR))
    mask = np.asarray(
        Image.fromarray(mask.astype(np.float32)).resize((width, height), Image.Resampling.BILINEAR)
    )
    if rng.random() < 0.5:
        contrast, mask = contrast[:, ::-1], mask[:, ::-1]
    grey = target[..., 0].astype(np.float32)
    side = grey.shape[0]
    if height >= side or width >= side:
        return None
    head = ndimage.binary_fill_holes(grey > HEAD_LEVEL)
    # Centres whose window lies (almost) wholly inside the head and inside the image.
    coverage = ndimage.uniform_filter(head.astype(np.float32), size=(height, width), mode="constant")
    fits = np.zeros_like(head)
    fits[height // 2 : side - height + height // 2 + 1, width // 2 : side - width + width // 2 + 1] = True
    centre_y, centre_x = np.nonzero((coverage > 0.98) & fits)
    if not len(centre_y):
        return None
    pick = rng.integers(len(centre_y))
    y0, x0 = int(centre_y[pick]) - height // 2, int(centre_x[pick]) - width // 2
    window = grey[y0 : y0 + height, x0 : x0 + width]
    tissue = window[window > HEAD_LEVEL]
    lesion = contrast * (float(tissue.mean()) if tissue.size else 1.0)
    blended = window * (1 - mask) + lesion * mask
    out = grey.copy()
    out[y0 : y0 + height, x0 : x0 + width] = blended
    return np.repeat(np.clip(out, 0, 255).astype(np.uint8)[..., None], 3, axis=2)


def pasted(
    targets: np.ndarray,
    donors: np.ndarray,
    donor_boxes: list[Box],
    donor_labels: np.ndarray,
    count: int,
    seed: int,
) -> tuple[np.ndarray, np.ndarray]:
    """`count` no-tumour slices with a lesion pasted in, and the lesions' classes.

    Args:
        targets: (M, S, S, 3) uint8 no-tumour training slices.
        donors: (K, S, S, 3) uint8 boxed tumour training slices, with their boxes and classes.
        seed: the same seed gives the same images.

    Returns:
        ((count', S, S, 3) uint8, (count',) int64): count' <= count where a head had no room.
    """
    rng = np.random.default_rng(seed)
    cuts = [cut(image, box) for image, box in zip(donors, donor_boxes)]
    usable = [i for i, c in enumerate(cuts) if c is not None]
    images, labels = [np.zeros((0, *targets.shape[1:]), np.uint8)], []
    for _ in range(count if usable and len(targets) else 0):
        donor = usable[rng.integers(len(usable))]
        result = paste(targets[rng.integers(len(targets))], *cuts[donor], rng)
        if result is not None:
            images.append(result[None])
            labels.append(donor_labels[donor])
    return np.concatenate(images), np.array(labels, np.int64)


def with_pastes(fit: Decoded, config: "ModelConfig", boxes: dict[str, Box]) -> tuple[Decoded, int]:
    """Training images with config.lesion_pastes pasted slices per no-tumour one appended.

    Donors are the boxed tumour slices among `fit`, targets its no-tumour slices: nothing from
    validation or Testing. The appended images have no sample in `kept`.

    Returns:
        (the training images, how many were pasted: 0 without boxes or donors).
    """
    if config.lesion_pastes <= 0:
        return fit, 0
    donors = [i for i, sample in enumerate(fit.kept) if sample.relpath in boxes and fit.labels[i] != NOTUMOR]
    targets = fit.images[fit.labels == NOTUMOR]
    count = round(config.lesion_pastes * len(targets))
    images, labels = pasted(
        targets,
        fit.images[donors],
        [boxes[fit.kept[i].relpath] for i in donors],
        fit.labels[donors],
        count,
        config.seed,
    )
    combined = Decoded(
        np.concatenate([fit.images, images]), np.concatenate([fit.labels, labels]), fit.kept, fit.skipped
    )
    return combined, len(images)
