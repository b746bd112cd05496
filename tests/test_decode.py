"""The one decode path: any mode and size to RGB, EXIF, clear errors, skipped files in a batch."""

import io

import numpy as np
import pytest
from PIL import Image

from conftest import make_scan
from core.data.dataset import TRAIN_SPLIT, find_samples
from core.data.decode import decode_image, decode_sized, load_images
from core.data.imagefile import ImageError


def _encoded(image: Image.Image, format: str) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=format)
    return buffer.getvalue()


@pytest.mark.parametrize(
    "image, format",
    [
        (Image.new("L", (300, 200), 90), "JPEG"),
        (Image.new("RGB", (64, 64), (10, 20, 30)), "JPEG"),
        (Image.new("RGBA", (64, 80), (200, 100, 50, 128)), "PNG"),
        (Image.new("P", (64, 64), 3), "PNG"),
        (Image.fromarray(np.arange(64 * 64, dtype=np.uint16).reshape(64, 64) * 16), "PNG"),
        (Image.new("CMYK", (64, 64), (0, 50, 100, 0)), "JPEG"),
        (Image.new("RGB", (40, 500), (1, 2, 3)), "BMP"),
    ],
    ids=["gray", "rgb", "rgba", "palette", "16-bit", "cmyk", "bmp-tall"],
)
def test_any_mode_and_size_decodes_to_rgb(image, format):
    pixels = decode_image(_encoded(image, format), size=32)
    assert pixels.shape == (32, 32, 3) and pixels.dtype == np.uint8


@pytest.mark.parametrize(
    "width, height, enlarged", [(300, 200, False), (64, 64, False), (40, 500, True), (63, 63, True)]
)
def test_decode_sized_keeps_the_size_the_image_had_in_its_file(width, height, enlarged):
    data = _encoded(Image.new("RGB", (width, height), (10, 20, 30)), "PNG")
    decoded = decode_sized(data, size=64)
    assert (decoded.width, decoded.height, decoded.enlarged) == (width, height, enlarged)
    np.testing.assert_array_equal(decoded.pixels, decode_image(data, size=64))


def test_sixteen_bit_images_are_stretched_to_eight_bits():
    ramp = np.linspace(0, 4095, 64 * 64).astype(np.uint16).reshape(64, 64)  # 12-bit data
    pixels = decode_image(_encoded(Image.fromarray(ramp), "PNG"), size=64)
    assert pixels.min() == 0 and pixels.max() >= 250


def test_exif_rotation_is_applied():
    pixels = np.zeros((64, 64, 3), np.uint8)
    pixels[:, :32] = 255  # left half white
    exif = Image.new("RGB", (1, 1)).getexif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display"
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG", exif=exif)
    shown = decode_image(buffer.getvalue(), size=64).mean(axis=2)
    assert shown[:24].mean() > 200 and shown[40:].mean() < 50  # white on top once rotated


def _bomb(side: int) -> bytes:
    # A tiny PNG claiming side x side px; Pillow reads the size without decoding pixels.
    return _encoded(Image.new("1", (side, side)), "PNG")


@pytest.mark.parametrize(
    "data, message",
    [
        (b"", "empty"),
        (_encoded(make_scan(0, 0), "JPEG")[:200], "cannot decode"),
        (b"%PDF-1.4 not an image at all", "not a readable image"),
        (_encoded(Image.new("L", (1, 1)), "PNG"), "1x1 px; need at least 32x32"),
        (_bomb(8000), "over the 40,000,000 px limit"),
        (_bomb(20000), "decompression bomb"),
    ],
    ids=["zero bytes", "truncated", "not an image", "too small", "huge", "decompression bomb"],
)
def test_bad_images_raise_a_clear_error_naming_the_file(data, message):
    with pytest.raises(ImageError, match=message) as error:
        decode_image(data, size=32, name="scan.png")
    assert str(error.value).endswith("scan.png")


def test_unreadable_images_are_skipped_and_reported(dataset_dir):
    broken = dataset_dir / TRAIN_SPLIT / "glioma" / "broken.jpg"
    broken.write_bytes(b"\xff\xd8\xff garbage")
    samples = find_samples(dataset_dir, TRAIN_SPLIT)
    images, labels, kept, skipped = load_images(samples, size=40)
    assert images.shape == (len(samples) - 1, 40, 40, 3)
    assert len(labels) == len(kept) == len(samples) - 1
    assert [path for path, _ in skipped] == ["Training/glioma/broken.jpg"]
    assert "broken.jpg" in skipped[0][1]


def test_colour_and_grey_files_of_one_scan_decode_to_the_same_grey_pixels(tmp_path):
    """Whether a collection stored its slices in colour must not reach the models."""
    rng = np.random.default_rng(0)
    grey = Image.fromarray(rng.integers(0, 255, (40, 40), dtype=np.uint8), mode="L")
    grey.save(tmp_path / "grey.png")
    grey.convert("RGB").save(tmp_path / "colour.png")
    tinted = np.asarray(grey.convert("RGB")).copy()
    tinted[..., 0] = np.minimum(tinted[..., 0].astype(int) + 30, 255)  # a red cast
    Image.fromarray(tinted).save(tmp_path / "tinted.png")
    from_grey = decode_image(tmp_path / "grey.png", 32)
    assert (decode_image(tmp_path / "colour.png", 32) == from_grey).all()
    for pixels in (from_grey, decode_image(tmp_path / "tinted.png", 32)):
        assert (pixels[..., 0] == pixels[..., 1]).all() and (pixels[..., 1] == pixels[..., 2]).all()
