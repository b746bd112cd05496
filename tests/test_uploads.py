"""Uploads: every format and mode we accept decodes to the right pixels; everything else is refused
with a message naming the file. Every input is built here, in memory."""

import io
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pydicom
import pytest
from PIL import Image
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.uid import (
    MPEG4HP41,
    UID,
    BasicTextSRStorage,
    ExplicitVRLittleEndian,
    JPEGBaseline8Bit,
    JPEGExtended12Bit,
    JPEGLSLossless,
    RTStructureSetStorage,
    SecondaryCaptureImageStorage,
    generate_uid,
)

from conftest import make_scan
from core.data.decode import decode_image
from core.data.imagefile import ImageError
from core.serving.predict import Predictor, predict_files

SIDE = 64  # inputs are built at the output size, so resizing leaves pixels as they are


def _encoded(image: Image.Image, format: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=format, **options)
    return buffer.getvalue()


def _png_claiming(width: int, height: int) -> bytes:
    """A ~70-byte PNG whose header claims width x height px (building a real one would allocate it)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit grayscale
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\0" * 16))
        + chunk(b"IEND", b"")
    )


def _ramp(low: int, high: int) -> np.ndarray:
    """(SIDE, SIDE) uint16 rising left to right from `low` to `high`."""
    return np.tile(np.linspace(low, high, SIDE), (SIDE, 1)).round().astype(np.uint16)


def _dicom(pixels: np.ndarray | None, syntax: UID = ExplicitVRLittleEndian, **elements) -> bytes:
    """A DICOM file (with preamble) holding 16-bit MONOCHROME2 `pixels` (H, W) or (frames, H, W).

    `elements` add or override data elements, e.g. WindowCenter=2000 or PixelData=...;
    pixels=None gives no pixel data. For a compressed `syntax` the frame is junk, encapsulated.
    """
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = SecondaryCaptureImageStorage
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = syntax
    dataset = Dataset()
    dataset.file_meta = meta
    dataset.SOPClassUID = meta.MediaStorageSOPClassUID
    dataset.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    dataset.Modality = "MR"
    dataset.Rows, dataset.Columns = pixels.shape[-2:] if pixels is not None else (SIDE, SIDE)
    if pixels is not None and pixels.ndim == 3:
        dataset.NumberOfFrames = pixels.shape[0]
    dataset.SamplesPerPixel, dataset.PhotometricInterpretation = 1, "MONOCHROME2"
    dataset.BitsAllocated, dataset.BitsStored, dataset.HighBit, dataset.PixelRepresentation = 16, 16, 15, 0
    if pixels is not None:
        frame = pixels.astype(np.uint16).tobytes()
        dataset.PixelData = encapsulate([b"\xff\xd8junk"]) if syntax.is_compressed else frame
    for keyword, value in elements.items():
        setattr(dataset, keyword, value)
    buffer = io.BytesIO()
    dataset.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def _bare_dicom(pixels: np.ndarray, implicit: bool) -> bytes:
    """`pixels` as a DICOM data set alone: no preamble, no "DICM", no file meta (older files)."""
    dataset = pydicom.dcmread(io.BytesIO(_dicom(pixels)))
    del dataset.file_meta
    dataset.preamble = None
    buffer = io.BytesIO()
    dataset.save_as(buffer, implicit_vr=implicit, little_endian=True, enforce_file_format=False)
    return buffer.getvalue()


def _gray(data: bytes, name: str = "scan.dcm") -> np.ndarray:
    """Decode at SIDE and return one channel (all three are equal for gray input)."""
    pixels = decode_image(data, SIDE, name=name)
    assert (pixels[..., 0] == pixels[..., 2]).all()
    return pixels[..., 0].astype(int)


# --- Pillow formats and modes -------------------------------------------------------------------


def _palette_image() -> Image.Image:
    image = Image.new("P", (SIDE, SIDE), 1)
    image.putpalette([0, 0, 0, 10, 200, 30])  # entry 1 is green
    return image


def _luminance(red: float, green: float, blue: float) -> float:
    """The grey Pillow gives a colour (ITU-R 601-2 luma): every image is decoded to grey."""
    return red * 0.299 + green * 0.587 + blue * 0.114


@pytest.mark.parametrize(
    "data, name, expected_rgb",
    [
        (_encoded(Image.new("L", (SIDE, SIDE), 90), "JPEG"), "gray.jpg", (90, 90, 90)),
        (_encoded(Image.new("LA", (SIDE, SIDE), (200, 128)), "PNG"), "la.png", (100, 100, 100)),
        (_encoded(Image.new("RGBA", (SIDE, SIDE), (200, 100, 50, 128)), "PNG"), "rgba.png", (100, 50, 25)),
        (_encoded(_palette_image(), "PNG"), "palette.png", (10, 200, 30)),
        (_encoded(Image.new("CMYK", (SIDE, SIDE), (0, 255, 255, 0)), "JPEG"), "cmyk.jpg", (255, 0, 0)),
        (_encoded(Image.new("RGB", (SIDE, SIDE), (1, 2, 3)), "BMP"), "scan.bmp", (1, 2, 3)),
        (_encoded(Image.new("RGB", (SIDE, SIDE), (40, 80, 120)), "PNG"), "png-named.jpg", (40, 80, 120)),
    ],
    ids=["gray L", "LA on black", "RGBA on black", "palette", "CMYK JPEG", "BMP", "PNG named .jpg"],
)
def test_each_mode_decodes_to_the_grey_of_its_colour(data, name, expected_rgb):
    pixels = decode_image(data, SIDE, name=name)
    assert pixels.shape == (SIDE, SIDE, 3) and pixels.dtype == np.uint8
    np.testing.assert_allclose(pixels.reshape(-1, 3).mean(axis=0), [_luminance(*expected_rgb)] * 3, atol=4)


def test_cmyk_jpeg_is_adobe_inverted_and_still_sane():
    # Pillow writes CMYK JPEGs the way Photoshop does: an Adobe marker and inverted ink values.
    data = _encoded(Image.new("CMYK", (SIDE, SIDE), (255, 0, 255, 0)), "JPEG")  # cyan + yellow = green
    assert b"Adobe" in data and Image.open(io.BytesIO(data)).mode == "CMYK"
    grey = decode_image(data, SIDE, name="cmyk.jpg").reshape(-1, 3).mean(axis=0)
    np.testing.assert_allclose(grey, [_luminance(0, 255, 0)] * 3, atol=6)  # not magenta's 105


def test_sixteen_bit_png_is_stretched_to_eight_bits():
    data = _encoded(Image.fromarray(_ramp(1000, 3000)), "PNG")  # 16-bit data using part of the range
    assert Image.open(io.BytesIO(data)).mode.startswith("I;16")
    gray = _gray(data, "16bit.png")
    assert gray[:, 0].max() == 0 and gray[:, -1].min() == 255
    assert (np.diff(gray[0]) >= 0).all()  # still a ramp


def _with_marker() -> Image.Image:
    """Black with a white square in the top-left corner."""
    pixels = np.zeros((SIDE, SIDE, 3), np.uint8)
    pixels[:16, :16] = 255
    return Image.fromarray(pixels)


@pytest.mark.parametrize(
    "orientation, corner",
    [(1, "top-left"), (6, "top-right"), (8, "bottom-left")],
    ids=["upright", "rotate 90 clockwise", "rotate 90 counter-clockwise"],
)
def test_exif_rotated_jpeg_is_turned_upright(orientation, corner):
    exif = Image.Exif()
    exif[0x0112] = orientation  # the Orientation tag: how a viewer must turn the stored pixels
    gray = _gray(_encoded(_with_marker(), "JPEG", exif=exif), "photo.jpg")
    corners = {
        "top-left": gray[:16, :16],
        "top-right": gray[:16, -16:],
        "bottom-left": gray[-16:, :16],
        "bottom-right": gray[-16:, -16:],
    }
    assert {where for where, block in corners.items() if block.mean() > 200} == {corner}


def test_multi_picture_jpeg_gives_its_first_picture():
    # Cameras write MPO: a JPEG with more pictures after it. Pillow opens it as format "MPO".
    first, second = Image.new("RGB", (SIDE, SIDE), (250, 0, 0)), Image.new("RGB", (SIDE, SIDE), (0, 0, 250))
    data = _encoded(first, "MPO", save_all=True, append_images=[second])
    assert Image.open(io.BytesIO(data)).format == "MPO"
    grey = decode_image(data, SIDE, name="camera.jpg").reshape(-1, 3).mean(axis=0)
    np.testing.assert_allclose(grey, [_luminance(250, 0, 0)] * 3, atol=4)  # not the blue one's 29


# --- DICOM --------------------------------------------------------------------------------------


def test_dicom_window_maps_its_edges_to_black_and_white():
    # Window centre 2000, width 1000: 1500 and below -> 0, 2500 and above -> 255, linear between.
    gray = _gray(_dicom(_ramp(0, 4032), WindowCenter=2000, WindowWidth=1000))
    stored = 4032 * np.arange(SIDE) / (SIDE - 1)  # 64 per column
    assert gray[0, stored <= 1500].max() == 0 and gray[0, stored >= 2500].min() == 255
    np.testing.assert_allclose(gray[0], np.clip((stored - 1500) / 1000 * 255, 0, 255), atol=1.5)


def test_dicom_rescale_is_applied_before_the_window():
    # Stored s -> 2 s - 1000; the window [0, 2000] in rescaled units is stored [500, 1500].
    dicom = _dicom(
        _ramp(0, 2016), RescaleSlope=2, RescaleIntercept=-1000, WindowCenter=1000, WindowWidth=2000
    )
    gray = _gray(dicom)
    stored = 2016 * np.arange(SIDE) / (SIDE - 1)
    expected = np.clip((2 * stored - 1000) / 2000 * 255, 0, 255)
    np.testing.assert_allclose(gray[0], expected, atol=1.5)


def test_dicom_without_window_is_stretched_min_to_max():
    gray = _gray(_dicom(_ramp(1000, 1300)))
    assert gray[:, 0].max() == 0 and gray[:, -1].min() == 255


def test_dicom_monochrome1_is_inverted():
    # MONOCHROME1 means the lowest value is shown white.
    gray = _gray(_dicom(_ramp(1000, 1300), PhotometricInterpretation="MONOCHROME1"))
    assert gray[:, 0].min() == 255 and gray[:, -1].max() == 0


def test_dicom_multi_frame_gives_the_first_frame():
    rising, falling = _ramp(0, 500), _ramp(500, 0)
    gray = _gray(_dicom(np.stack([rising, falling])))
    assert gray[0, 0] == 0 and gray[0, -1] == 255


def test_dicom_is_recognised_by_content_whatever_the_name():
    gray = _gray(_dicom(_ramp(0, 500)), name="exported.jpg")
    assert gray[0, 0] == 0 and gray[0, -1] == 255


@pytest.mark.parametrize("implicit", [True, False], ids=["implicit VR", "explicit VR"])
def test_dicom_without_preamble_is_recognised_by_content(implicit):
    data = _bare_dicom(_ramp(0, 500), implicit)
    assert data[128:132] != b"DICM"
    for name in ("scan.dcm", "IM0001"):  # old exports often have no suffix at all
        gray = _gray(data, name=name)
        assert gray[0, 0] == 0 and gray[0, -1] == 255


def test_a_jpeg_named_dcm_decodes_as_the_jpeg_it_is():
    np.testing.assert_array_equal(
        decode_image(_JPEG, SIDE, "scan.dcm"), decode_image(_JPEG, SIDE, "scan.jpg")
    )


def test_jpeg_compressed_dicom_decodes_with_pillow():
    # JPEG Baseline needs no plugin beyond Pillow, which the app has anyway.
    frame = _encoded(Image.fromarray(_ramp(0, 255).astype(np.uint8)), "JPEG", quality=95)
    eight_bits = dict(BitsAllocated=8, BitsStored=8, HighBit=7)
    gray = _gray(_dicom(None, JPEGBaseline8Bit, **eight_bits, PixelData=encapsulate([frame])))
    assert gray[:, :4].mean() < 10 and gray[:, -4:].mean() > 245


# --- refused files ------------------------------------------------------------------------------

_JPEG = _encoded(
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (SIDE, SIDE, 3), np.uint8)), "JPEG"
)
_PNG = _encoded(make_scan(0, 0, size=SIDE), "PNG")
_FRAMES = [Image.new("L", (SIDE, SIDE), 0), Image.new("L", (SIDE, SIDE), 255)]


@pytest.mark.parametrize(
    "data, name, message",
    [
        (b"", "scan.png", "file is empty"),
        (_JPEG[: len(_JPEG) * 2 // 3], "scan.jpg", "truncated or corrupt"),
        (_PNG[: len(_PNG) * 2 // 3], "scan.png", "truncated or corrupt"),
        (b"patient notes, not pixels\n" * 10, "scan.png", r"not a readable image \(JPEG, PNG, BMP or DICOM"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n", "report.pdf", "not a readable image"),
        (np.random.default_rng(1).bytes(4096), "noise.bin", "not a readable image"),
        (b"not a dicom at all" * 20, "scan.dcm", "not a readable image"),
        (_png_claiming(100_000, 100_000), "bomb.png", "decompression bomb"),
        (_png_claiming(8_000, 8_000), "huge.png", "8000x8000 px, over the 40,000,000 px limit"),
        (_encoded(Image.new("L", (16, 300)), "PNG"), "thin.png", "16x300 px; need at least 32x32"),
        (_encoded(_FRAMES[0], "GIF", save_all=True, append_images=_FRAMES[1:]), "scan.gif", "GIF images"),
        (_encoded(_FRAMES[0], "TIFF", save_all=True, append_images=_FRAMES[1:]), "scan.tif", "TIFF images"),
        (
            _encoded(_FRAMES[0], "PNG", save_all=True, append_images=_FRAMES[1:]),
            "scan.png",
            "animated images",
        ),
        (
            _encoded(_FRAMES[0], "WEBP"),
            "scan.webp",
            r"WEBP images are not supported \(JPEG, PNG, BMP or DICOM",
        ),
    ],
    ids=[
        "zero bytes",
        "truncated JPEG",
        "truncated PNG",
        "text named .png",
        "PDF",
        "random bytes",
        "text named .dcm",
        "decompression bomb",
        "over MAX_PIXELS",
        "too small",
        "animated GIF",
        "multi-page TIFF",
        "animated PNG",
        "WebP",
    ],
)
def test_bad_files_are_refused_naming_the_file(data, name, message):
    with pytest.raises(ImageError, match=message) as error:
        decode_image(data, SIDE, name=name)
    assert str(error.value).endswith(f": {name}")


@pytest.mark.parametrize(
    "data, message",
    [
        (_dicom(None), "DICOM file has no pixel data"),
        (
            _dicom(_ramp(0, 9), JPEGLSLossless),
            "compressed with JPEG-LS Lossless Image Compression; not supported",
        ),
        (_dicom(_ramp(0, 9), MPEG4HP41), r"compressed with MPEG-4 .*; not supported"),
        (_dicom(None, Rows=60_000, Columns=60_000, PixelData=b"\0" * 8), "60000x60000 px, over the"),
        (_dicom(np.zeros((8, 8))), "8x8 px; need at least 32x32"),
        (_dicom(_ramp(0, 9), PhotometricInterpretation="PALETTE COLOR"), "PALETTE COLOR not supported"),
        (_dicom(_ramp(0, 9))[:-500], "cannot decode DICOM pixel data"),
        (_dicom(None, SOPClassUID=BasicTextSRStorage), "a DICOM structured report .*, not an image"),
        (_dicom(None, SOPClassUID=RTStructureSetStorage), "a DICOM RT Structure Set, not an image"),
        (
            _dicom(_ramp(0, 9), JPEGExtended12Bit, BitsStored=12, HighBit=11),
            r"cannot decode DICOM pixel data compressed with JPEG Extended \(Process 2 and 4\) \(",
        ),
    ],
    ids=[
        "no pixel data",
        "JPEG-LS",
        "MPEG-4",
        "huge header",
        "too small",
        "palette colour",
        "truncated",
        "structured report",
        "RT structure set",
        "12-bit JPEG Extended",
    ],
)
def test_bad_dicom_files_are_refused_naming_the_file(data, message):
    with pytest.raises(ImageError, match=message) as error:
        decode_image(data, SIDE, name="scan.dcm")
    assert str(error.value).endswith(": scan.dcm") and "\n" not in str(error.value)


def _fresh_python(script: str, stdin: bytes = b"") -> subprocess.CompletedProcess:
    """Run `script` in a new interpreter at the repository root (no pytest warning filters)."""
    root = Path(__file__).resolve().parents[1]
    return subprocess.run(
        [sys.executable, "-c", script], input=stdin, capture_output=True, cwd=root, check=True
    )


def test_pillows_bomb_warning_is_an_error():
    # 10000x10000 px lies where Pillow only warns; the warning must not leak, the file is refused.
    script = (
        "import sys; from core.data.decode import decode_image; from core.data.imagefile import ImageError\n"
        "try: decode_image(sys.stdin.buffer.read(), 32, name='bomb.png')\n"
        "except ImageError as error: print(error)"
    )
    result = _fresh_python(script, stdin=_png_claiming(10_000, 10_000))
    assert result.stdout.decode().strip().endswith("(decompression bomb?): bomb.png")
    assert b"DecompressionBombWarning" not in result.stderr


def test_pydicom_is_imported_only_when_a_dicom_arrives():
    script = (
        "import sys; from core.data.decode import decode_image\n"
        "decode_image(sys.stdin.buffer.read(), 32); print('pydicom' in sys.modules)"
    )
    assert _fresh_python(script, stdin=_PNG).stdout.strip() == b"False"


def test_a_batch_goes_on_past_bad_files(tiny_cnn):
    files = [
        ("good.png", _PNG),
        ("empty.png", b""),
        ("scan.dcm", _dicom(_ramp(0, 500), WindowCenter=250, WindowWidth=500)),
        ("notes.png", b"patient notes, not pixels"),
        ("bomb.png", _png_claiming(100_000, 100_000)),
    ]
    table = predict_files({"tiny": Predictor(*tiny_cnn)}, files)
    assert table["file"].tolist() == [name for name, _ in files]
    failed = table[table["error"] != ""]
    assert failed["file"].tolist() == ["empty.png", "notes.png", "bomb.png"]
    assert all(name in error for name, error in zip(failed["file"], failed["error"]))
    fine = table[table["error"] == ""]
    assert fine["tiny_label"].notna().all() and fine["tiny_confidence"].between(0, 1).all()
