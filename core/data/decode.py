"""Decode image files (JPEG, PNG, BMP, DICOM) to grey RGB arrays: the one decode path of the project.

Training, evaluation, uploads and Grad-CAM all read images through `decode_image`, so they see
the same pixels. No TensorFlow here.
"""

import io
import os
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from core.data import dicom
from core.data.dataset import Sample
from core.data.imagefile import EXPECTED_FORMATS, ImageError, check_image_size

PILLOW_FORMATS = {"JPEG", "MPO", "PNG", "BMP"}  # MPO: a camera JPEG with extra pictures after it

# Pillow only warns about images between MAX_IMAGE_PIXELS and twice that; for uploads such a size
# is a mistake or an attack, so it is refused like the larger ones.
warnings.simplefilter("error", Image.DecompressionBombWarning)


class Decoded(NamedTuple):
    """Many samples decoded at one size."""

    images: np.ndarray  # (N, S, S, 3) uint8
    labels: np.ndarray  # (N,) int64 class indices
    kept: list[Sample]  # the N samples decoded, in order
    skipped: list[tuple[str, str]]  # (relpath, message) of each file that could not be decoded


@dataclass(frozen=True)
class DecodedImage:
    """One image decoded at a model's size, with the size it had in its file."""

    pixels: np.ndarray  # (S, S, 3) uint8
    width: int  # in the file, before resizing
    height: int

    @property
    def enlarged(self) -> bool:
        """Whether resizing had to enlarge it: a side in the file is under the output size."""
        return min(self.width, self.height) < len(self.pixels)


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

    The content decides the format, not the file name: JPEG, PNG, BMP or DICOM (with or without
    the 128-byte preamble). Multi-frame files give their first frame, but animated images and
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
    return decode_sized(source, size, name).pixels


def decode_sized(source: bytes | str | os.PathLike, size: int, name: str | None = None) -> DecodedImage:
    """decode_image's pixels with the image's width and height in its file (uploads need both).

    Raises:
        ImageError: as decode_image.
    """
    name = name or (str(source) if not isinstance(source, bytes) else "upload")
    try:
        data = source if isinstance(source, bytes) else Path(source).read_bytes()
    except OSError as error:
        raise ImageError(f"cannot read file ({error.strerror}): {name}") from None
    if not data:
        raise ImageError(f"file is empty (0 bytes): {name}")
    if dicom.is_dicom(data):  # by content: a JPEG named .dcm is a JPEG
        image = Image.fromarray(dicom.read_dicom(data, name)).convert("RGB")
    else:
        image = _open_with_pillow(data, name)
    width, height = image.size
    # Every image in grey (its luminance in all three channels): whether a file stores a scan in
    # colour or grey says which collection it came from, not what it shows.
    image = image.convert("L").resize((size, size), Image.Resampling.BILINEAR).convert("RGB")
    return DecodedImage(np.asarray(image, dtype=np.uint8), width, height)


def load_images(samples: list[Sample], size: int, workers: int = 4) -> Decoded:
    """Decode many samples; unreadable files are skipped and reported, never raised."""

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
    return Decoded(images, labels, kept, skipped)
