""" "What if" changes to an image, for seeing how each model's answer moves: contrast, noise,
rotation and a bias field (the slow shading across a slice that MRI coils leave).

Pure NumPy and Pillow on (H, W, 3) uint8 images; a change at its neutral value leaves the image as it is.
"""

import io
from dataclasses import dataclass

import numpy as np
from PIL import Image


@dataclass(frozen=True)
class WhatIf:
    """The changes to apply; the defaults change nothing."""

    contrast: float = 1.0  # intensities scaled about their mean: <1 flatter, >1 harsher
    noise: float = 0.0  # standard deviation of added Gaussian noise, in grey levels (0-255)
    rotation: float = 0.0  # degrees, anticlockwise, about the centre; corners filled with black
    bias: float = 0.0  # strength of a smooth left-to-right shading: 0.5 darkens one side by half

    @property
    def neutral(self) -> bool:
        return self == WhatIf()

    def describe(self) -> str:
        """The changes in words ("contrast x1.5, rotation 10°"), or "" when neutral."""
        parts = []
        if self.contrast != 1.0:
            parts.append(f"contrast ×{self.contrast:g}")
        if self.noise:
            parts.append(f"noise σ {self.noise:g}")
        if self.rotation:
            parts.append(f"rotation {self.rotation:g}°")
        if self.bias:
            parts.append(f"bias field {self.bias:g}")
        return ", ".join(parts)


def apply(image: np.ndarray, change: WhatIf, seed: int = 0) -> np.ndarray:
    """`image` (H, W, 3) uint8 with `change` applied, as (H, W, 3) uint8; the noise is seeded, so
    the same change gives the same image."""
    if change.neutral:
        return image
    pixels = image.astype(np.float32)
    if change.rotation:
        rotated = Image.fromarray(image).rotate(change.rotation, resample=Image.Resampling.BILINEAR)
        pixels = np.asarray(rotated, np.float32)
    if change.contrast != 1.0:
        mean = pixels.mean()
        pixels = mean + (pixels - mean) * change.contrast
    if change.bias:
        across = np.linspace(1.0, 1.0 - change.bias, pixels.shape[1], dtype=np.float32)
        pixels = pixels * across[None, :, None]
    if change.noise:
        noise = np.random.default_rng(seed).normal(0.0, change.noise, pixels.shape[:2]).astype(np.float32)
        pixels = pixels + noise[..., None]  # the same on every channel: a grey slice stays grey
    return np.clip(np.rint(pixels), 0, 255).astype(np.uint8)


def png_bytes(pixels: np.ndarray) -> bytes:
    """(H, W, 3) uint8 as the bytes of a PNG file, to classify as an upload is."""
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()
