"""What an image file must be: the accepted suffixes, the size limits, and the error for the rest.

Shared by the decoders (core.data.decode for JPEG, PNG and BMP; core.data.dicom for DICOM), the dataset
finder and the upload widgets, so each fact is written once.
"""

DATASET_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp"})  # what the dataset finder reads
UPLOAD_SUFFIXES = DATASET_SUFFIXES | {".dcm"}  # what the upload widgets accept
FOLDER_SUFFIXES = UPLOAD_SUFFIXES  # what the folder predictor picks up; it counts the rest
EXPECTED_FORMATS = "JPEG, PNG, BMP or DICOM expected"
MIN_SIDE = 32
MAX_PIXELS = 40_000_000  # larger than any scan; stops decompression bombs


class ImageError(ValueError):
    """An image cannot be decoded or is unusable."""


def check_image_size(width: int, height: int, name: str) -> None:
    """Refuse sizes no scan has, before any pixel is decoded.

    Raises:
        ImageError: over MAX_PIXELS, or a side under MIN_SIDE.
    """
    if width * height > MAX_PIXELS:
        raise ImageError(f"image is {width}x{height} px, over the {MAX_PIXELS:,} px limit: {name}")
    if min(width, height) < MIN_SIDE:
        raise ImageError(f"image is {width}x{height} px; need at least {MIN_SIDE}x{MIN_SIDE}: {name}")
