"""Read the first frame of a DICOM file as 8-bit pixels, windowed the way a viewer shows it.

pydicom is imported inside `read_dicom`, so pages that never see a DICOM never pay for importing it.
"""

import io
from typing import TYPE_CHECKING

import numpy as np

from core.imagefile import EXPECTED_FORMATS, ImageError, check_image_size

if TYPE_CHECKING:
    from pydicom import Dataset

DICOM_MAGIC, DICOM_MAGIC_OFFSET = b"DICM", 128  # after the 128-byte preamble of a DICOM file
GRAY = ("MONOCHROME1", "MONOCHROME2")
COLOR = ("RGB", "YBR_FULL", "YBR_FULL_422", "YBR_RCT", "YBR_ICT")  # pydicom hands these back as RGB


def is_dicom(data: bytes) -> bool:
    """Whether `data` starts like a DICOM file (the extension is not trusted)."""
    return data[DICOM_MAGIC_OFFSET : DICOM_MAGIC_OFFSET + len(DICOM_MAGIC)] == DICOM_MAGIC


def read_dicom(data: bytes, name: str) -> np.ndarray:
    """Decode a DICOM file's first frame to 8 bits.

    Grayscale goes through the modality LUT (rescale slope/intercept), then the VOI LUT or window
    if the file has one, else a min-max stretch; MONOCHROME1 is inverted so bright means dense.

    Args:
        data: the file's bytes.
        name: how to name the file in error messages.

    Returns:
        (H, W) uint8 for grayscale, (H, W, 3) uint8 for colour.

    Raises:
        ImageError: not DICOM, no pixel data, compressed without a decoder, unsupported
            photometric interpretation, or dimensions out of range.
    """
    import pydicom
    from pydicom.pixels import get_decoder, pixel_array

    try:
        # force: a .dcm without the preamble (older files) still parses; junk fails below.
        dataset = pydicom.dcmread(io.BytesIO(data), force=True)
    except Exception as error:  # pydicom raises many types for broken files
        raise ImageError(f"not a readable DICOM file ({error}): {name}") from None
    if "PixelData" not in dataset:
        if not is_dicom(data):  # a .dcm name without the DICOM header: force parsed junk
            raise ImageError(f"not a readable image ({EXPECTED_FORMATS}): {name}")
        raise ImageError(f"DICOM file has no pixel data: {name}")

    syntax = dataset.get("file_meta", {}).get("TransferSyntaxUID")
    if syntax is None:
        raise ImageError(f"DICOM file has no transfer syntax, so its pixels cannot be read: {name}")
    try:
        decodable = get_decoder(syntax).is_available
    except NotImplementedError:
        decodable = False
    if not decodable:
        raise ImageError(f"DICOM pixel data is compressed with {syntax.name}; not supported: {name}")

    # Check the header before decoding, so a file claiming a huge image allocates nothing.
    photometric = str(dataset.get("PhotometricInterpretation", ""))
    if photometric not in GRAY + COLOR:
        raise ImageError(f"DICOM photometric interpretation {photometric or '(none)'} not supported: {name}")
    check_image_size(int(dataset.get("Columns", 0)), int(dataset.get("Rows", 0)), name)

    try:
        pixels = pixel_array(dataset, index=0)  # first frame only: (H, W) or (H, W, 3)
        if photometric in COLOR:
            return _stretch(pixels, 0, 2 ** int(dataset.get("BitsStored", 8)) - 1)
        gray = _window(pixels, dataset)
    except Exception as error:  # corrupt or inconsistent pixel data
        raise ImageError(f"cannot decode DICOM pixel data ({error}): {name}") from None
    return 255 - gray if photometric == "MONOCHROME1" else gray


def _window(pixels: np.ndarray, dataset: "Dataset") -> np.ndarray:
    """Stored grayscale values (H, W) -> 8 bits through the modality and VOI transforms."""
    from pydicom.pixels import apply_modality_lut, apply_voi_lut

    values = apply_modality_lut(pixels, dataset)  # stored values -> real units, e.g. HU
    windowed = apply_voi_lut(values, dataset)
    if windowed is values:  # neither a window nor a VOI LUT in the file
        low, high = values.min(), values.max()
    elif windowed.dtype.kind == "f":  # a window: pydicom sends what lies outside to its output's ends
        low, high = apply_voi_lut(np.array([-np.inf, np.inf]), dataset)
    else:  # a VOI LUT Sequence, whose entries are `bits` wide
        low, high = 0, 2 ** dataset.VOILUTSequence[0].LUTDescriptor[2] - 1
    # Scaling by the transform's output range, not this image's min/max, keeps a window's
    # edges at 0 and 255 whatever the image holds.
    return _stretch(windowed, float(low), float(high))


def _stretch(pixels: np.ndarray, low: float, high: float) -> np.ndarray:
    """Map [low, high] linearly onto 0-255 (uint8); a flat image becomes black."""
    if high <= low:
        return np.zeros(pixels.shape, np.uint8)
    scaled = (pixels.astype(np.float64) - low) / (high - low) * 255
    return np.clip(np.rint(scaled), 0, 255).astype(np.uint8)
