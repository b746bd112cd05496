"""Read the first frame of a DICOM file as 8-bit pixels, windowed the way a viewer shows it.

pydicom is imported inside `read_dicom`, so pages that never see a DICOM never pay for importing it.
"""

import io
from typing import TYPE_CHECKING

import numpy as np

from core.data.imagefile import ImageError, check_image_size

if TYPE_CHECKING:
    from pydicom import Dataset
    from pydicom.uid import UID

DICOM_MAGIC, DICOM_MAGIC_OFFSET = b"DICM", 128  # after the 128-byte preamble of a DICOM file
GRAY = ("MONOCHROME1", "MONOCHROME2")
COLOR = ("RGB", "YBR_FULL", "YBR_FULL_422", "YBR_RCT", "YBR_ICT")  # pydicom hands these back as RGB


# A data set saved without preamble or file meta (older files; implicit VR little endian is
# DICOM's default) starts with its first element's tag: group 0002 or 0008, little endian.
BARE_FIRST_GROUPS = (b"\x02\x00", b"\x08\x00")
STRUCTURED_REPORT = "1.2.840.10008.5.1.4.1.1.88."  # the SOP classes of every kind of SR


def is_dicom(data: bytes) -> bool:
    """Whether `data` starts like a DICOM file, with or without preamble (the extension is not trusted)."""
    preamble_magic = data[DICOM_MAGIC_OFFSET : DICOM_MAGIC_OFFSET + len(DICOM_MAGIC)] == DICOM_MAGIC
    return preamble_magic or data[:2] in BARE_FIRST_GROUPS


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
        # force: a data set without the preamble (older files) still parses.
        dataset = pydicom.dcmread(io.BytesIO(data), force=True)
    except Exception as error:  # pydicom raises many types for broken files
        raise ImageError(f"not a readable DICOM file ({_one_line(error)}): {name}") from None
    if "PixelData" not in dataset:
        raise ImageError(f"{_what_instead_of_pixels(dataset)}: {name}")

    syntax = dataset.get("file_meta", {}).get("TransferSyntaxUID") or _bare_syntax(dataset)
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
    except Exception as error:  # corrupt or inconsistent pixel data, or a decoder's limit
        compressed = f" compressed with {syntax.name}" if syntax.is_compressed else ""
        raise ImageError(f"cannot decode DICOM pixel data{compressed} ({_one_line(error)}): {name}") from None
    return 255 - gray if photometric == "MONOCHROME1" else gray


def _what_instead_of_pixels(dataset: "Dataset") -> str:
    """Why a data set without PixelData is refused: the kind of DICOM object it is, where known."""
    from pydicom.uid import UID

    sop = UID(str(dataset.get("SOPClassUID", "")))
    kind = sop.name.removesuffix(" Storage")
    if kind == str(sop) or "Image" in kind:  # unknown class, or an image class missing its pixels
        return "DICOM file has no pixel data"
    if sop.startswith(STRUCTURED_REPORT):
        return f"file is a DICOM structured report ({kind}), not an image"
    return f"file is a DICOM {kind}, not an image"


def _bare_syntax(dataset: "Dataset") -> "UID | None":
    """The transfer syntax a data set without file meta was read with; recorded so pydicom can decode it."""
    from pydicom.uid import ExplicitVRBigEndian, ExplicitVRLittleEndian, ImplicitVRLittleEndian

    encodings = {
        (True, True): ImplicitVRLittleEndian,
        (False, True): ExplicitVRLittleEndian,
        (False, False): ExplicitVRBigEndian,
    }
    syntax = encodings.get(dataset.original_encoding)
    if syntax is not None:
        dataset.ensure_file_meta()
        dataset.file_meta.TransferSyntaxUID = syntax
    return syntax


def _one_line(error: Exception) -> str:
    """An exception's message on one line: pydicom lists each plugin's failure on its own line."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return lines[-1] if lines else type(error).__name__


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
