"""Find, decode and split the Kaggle Brain Tumor MRI Dataset (no TensorFlow here).

Layout: <data>/Training/<class>/*.jpg and <data>/Testing/<class>/*.jpg, where <class> is
glioma, meningioma, notumor or pituitary (or the older names glioma_tumor, meningioma_tumor,
no_tumor, pituitary_tumor). Hidden files and folders are not samples.
"""

import hashlib
import io
import os
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

CLASS_NAMES = ("glioma", "meningioma", "notumor", "pituitary")
CLASS_TITLES = {  # how every page writes the class names
    "glioma": "Glioma",
    "meningioma": "Meningioma",
    "notumor": "No tumor",
    "pituitary": "Pituitary",
}
CLASS_ALIASES = {
    "glioma_tumor": "glioma",
    "meningioma_tumor": "meningioma",
    "no_tumor": "notumor",
    "pituitary_tumor": "pituitary",
}
PROBABILITY_COLUMNS = [f"prob_{name}" for name in CLASS_NAMES]  # in predictions.csv
TRAIN_SPLIT, TEST_SPLIT = "Training", "Testing"
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp"}
MIN_SIDE = 32
MAX_PIXELS = 40_000_000  # larger than any scan; stops decompression bombs
PILLOW_FORMATS = {"JPEG", "MPO", "PNG", "BMP"}  # MPO: a camera JPEG with extra pictures after it
EXPECTED_FORMATS = "JPEG, PNG, BMP or DICOM expected"

# Pillow only warns about images between MAX_IMAGE_PIXELS and twice that; for uploads such a size
# is a mistake or an attack, so it is refused like the larger ones.
warnings.simplefilter("error", Image.DecompressionBombWarning)


class DatasetError(ValueError):
    """The dataset folder is missing or not in the expected layout."""


class ImageError(ValueError):
    """An image cannot be decoded or is unusable."""


@dataclass(frozen=True)
class Sample:
    path: Path  # absolute path of the image file
    relpath: str  # path relative to the dataset root, e.g. "Testing/glioma/Te-gl_0010.jpg"
    label: int  # index into CLASS_NAMES


def _is_hidden(path: Path) -> bool:
    return path.name.startswith(".")


def find_samples(data_dir: Path, split: str) -> list[Sample]:
    """All image files of one split, sorted by path.

    Raises:
        DatasetError: the split folder or a class folder is missing, or a class has no images.
    """
    data_dir = Path(data_dir)
    split_dir = data_dir / split
    if not split_dir.is_dir():
        raise DatasetError(
            f"dataset folder not found: {split_dir} (expected {data_dir}/{split}/<class>/; "
            "pass --data DIR or set BRAIN_MRI_DATA)"
        )
    class_dirs: dict[str, Path] = {}
    for child in sorted(split_dir.iterdir()):
        name = CLASS_ALIASES.get(child.name, child.name)
        if child.is_dir() and not _is_hidden(child) and name in CLASS_NAMES:
            class_dirs[name] = child
    missing = [name for name in CLASS_NAMES if name not in class_dirs]
    if missing:
        raise DatasetError(f"class folder(s) {', '.join(missing)} missing in {split_dir}")

    samples = []
    for label, name in enumerate(CLASS_NAMES):
        files = sorted(
            path
            for path in class_dirs[name].iterdir()
            if path.is_file() and not _is_hidden(path) and path.suffix.lower() in IMAGE_SUFFIXES
        )
        if not files:
            raise DatasetError(f"no images in class folder {class_dirs[name]}")
        samples += [Sample(p, p.relative_to(data_dir).as_posix(), label) for p in files]
    return samples


def fingerprint(samples: list[Sample]) -> str:
    """A short hash of the file list and sizes: changes when any file is added, removed or edited."""
    digest = hashlib.sha256()
    for sample in sorted(samples, key=lambda s: s.relpath):
        digest.update(f"{sample.relpath}\t{sample.path.stat().st_size}\n".encode())
    return digest.hexdigest()[:16]


def _to_rgb(image: Image.Image) -> Image.Image:
    """Any PIL mode -> 8-bit RGB. High bit depths are stretched to 0-255; alpha goes on black."""
    if image.mode in ("I", "I;16", "I;16B", "I;16L", "F"):
        pixels = np.asarray(image, dtype=np.float32)
        low, high = float(pixels.min()), float(pixels.max())
        scaled = (pixels - low) / (high - low) * 255 if high > low else np.zeros_like(pixels)
        return Image.fromarray(scaled.astype(np.uint8)).convert("RGB")
    if image.mode in ("RGBA", "LA", "P", "PA"):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (0, 0, 0, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image.convert("RGB")


def check_image_size(width: int, height: int, name: str) -> None:
    """Refuse sizes no scan has, before any pixel is decoded.

    Raises:
        ImageError: over MAX_PIXELS, or a side under MIN_SIDE.
    """
    if width * height > MAX_PIXELS:
        raise ImageError(f"image is {width}x{height} px, over the {MAX_PIXELS:,} px limit: {name}")
    if min(width, height) < MIN_SIDE:
        raise ImageError(f"image is {width}x{height} px; need at least {MIN_SIDE}x{MIN_SIDE}: {name}")


def _open_with_pillow(data: bytes, name: str) -> Image.Image:
    """A JPEG, PNG or BMP file's bytes -> a loaded RGB image, upright as its EXIF says."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.format not in PILLOW_FORMATS:
                raise ImageError(f"{image.format} images are not supported ({EXPECTED_FORMATS}): {name}")
            if image.format != "MPO" and getattr(image, "is_animated", False):  # e.g. an animated PNG
                raise ImageError(f"animated images are not supported ({EXPECTED_FORMATS}): {name}")
            check_image_size(*image.size, name)
            # Decode now, inside this try: Pillow loads lazily, and a truncated file must fail here
            # rather than come out partly grey (ImageFile.LOAD_TRUNCATED_IMAGES stays False).
            image.load()
            return _to_rgb(ImageOps.exif_transpose(image))
    except ImageError:
        raise
    except UnidentifiedImageError:
        raise ImageError(f"not a readable image ({EXPECTED_FORMATS}): {name}") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageError(f"image dimensions are absurdly large (decompression bomb?): {name}") from None
    except Exception as error:  # Pillow raises many types for broken files
        raise ImageError(f"cannot decode image; truncated or corrupt ({error}): {name}") from None


def decode_image(source: bytes | str | os.PathLike, size: int, name: str | None = None) -> np.ndarray:
    """Decode an image file or its bytes to a (size, size, 3) uint8 RGB array.

    The content decides the format, not the file name: JPEG, PNG, BMP or DICOM (files that start
    like DICOM or end in .dcm). Multi-frame files give their first frame, but animated images and
    other formats (GIF, TIFF, ...) are refused.

    Args:
        source: a path or the file's bytes.
        size: output side length in pixels.
        name: how to name the image in error messages (defaults to the path).

    Returns:
        (size, size, 3) uint8 RGB pixels.

    Raises:
        ImageError: empty, truncated, not an image or in another format; too small; absurdly large.
    """
    name = name or (str(source) if not isinstance(source, bytes) else "upload")
    try:
        data = source if isinstance(source, bytes) else Path(source).read_bytes()
    except OSError as error:
        raise ImageError(f"cannot read file ({error.strerror}): {name}") from None
    if not data:
        raise ImageError(f"file is empty (0 bytes): {name}")
    from core import dicom  # here, not at the top: core.dicom imports this module

    if dicom.is_dicom(data) or name.lower().endswith(".dcm"):
        image = Image.fromarray(dicom.read_dicom(data, name)).convert("RGB")
    else:
        image = _open_with_pillow(data, name)
    image = image.resize((size, size), Image.Resampling.BILINEAR)
    return np.asarray(image, dtype=np.uint8)


def load_images(
    samples: list[Sample], size: int, workers: int = 4
) -> tuple[np.ndarray, np.ndarray, list[Sample], list[tuple[str, str]]]:
    """Decode many samples; unreadable files are skipped and reported, never raised.

    Returns:
        images (N, size, size, 3) uint8, labels (N,) int, the N samples kept, and
        (relpath, message) for each file skipped.
    """

    def decode(sample: Sample) -> np.ndarray | str:
        try:
            return decode_image(sample.path, size, name=sample.relpath)
        except ImageError as error:
            return str(error)

    with ThreadPoolExecutor(workers) as pool:
        decoded = list(pool.map(decode, samples))
    kept = [s for s, d in zip(samples, decoded) if not isinstance(d, str)]
    skipped = [(s.relpath, d) for s, d in zip(samples, decoded) if isinstance(d, str)]
    images = (
        np.stack([d for d in decoded if not isinstance(d, str)])
        if kept
        else np.zeros((0, size, size, 3), np.uint8)
    )
    labels = np.array([s.label for s in kept], dtype=np.int64)
    return images, labels, kept, skipped


def split_validation(samples: list[Sample], fraction: float, seed: int) -> tuple[list[Sample], list[Sample]]:
    """A seeded split of `samples` into (train, validation), stratified by class."""
    from sklearn.model_selection import train_test_split

    labels = [s.label for s in samples]
    train, val = train_test_split(samples, test_size=fraction, random_state=seed, stratify=labels)
    return sorted(train, key=lambda s: s.relpath), sorted(val, key=lambda s: s.relpath)
