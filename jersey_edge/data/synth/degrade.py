"""The broadcast camera and codec: light, motion blur, focus, resolution, noise, JPEG.

Order follows the physical chain (scene light -> lens/shutter -> interlaced fields ->
sensor -> tracker crop resize -> codec) so the artefacts stack the way they do in real
footage. JPEG encoding uses fixed parameters so the same frame always gives the same bytes.
"""

import io
import math

import numpy as np
from PIL import Image, ImageFilter

from .motion import FrameParams


def _shadow(rgb: np.ndarray, frame: FrameParams) -> np.ndarray:
    """A soft shadow edge (stand roof, floodlight) across part of the frame."""
    pos, angle, depth = frame.shadow
    if depth <= 0:
        return rgb
    h, w, _ = rgb.shape
    yy = np.linspace(-1, 1, h, dtype=np.float32)[:, None]
    xx = np.linspace(-1, 1, w, dtype=np.float32)[None, :]
    edge = 1 / (1 + np.exp(-(xx * math.cos(angle) + yy * math.sin(angle) - pos) * 12))
    return rgb * (1 - depth * edge)[..., None]


def _exposure(image: Image.Image, mean: float, frame: FrameParams) -> Image.Image:
    """Contrast about the mean, saturation, gain and white balance: one 3x4 colour matrix."""
    luma = np.array([0.299, 0.587, 0.114])
    mix = frame.saturation * np.eye(3) + (1 - frame.saturation) * luma[None, :]
    scale = frame.gain * np.asarray(frame.cast)[:, None]
    matrix = np.hstack([scale * mix * frame.contrast, scale * mean * (1 - frame.contrast)])
    return image.convert("RGB", tuple(float(v) for v in matrix.ravel()))


def motion_blur(rgb: np.ndarray, length: float, angle: float) -> np.ndarray:
    """Average of shifted copies along the motion direction (length in pixels)."""
    taps = round(length)
    if taps < 1:
        return rgb
    h, w, _ = rgb.shape
    pad = taps + 1
    padded = np.pad(rgb, ((pad, pad), (pad, pad), (0, 0)), mode="edge")
    acc = np.zeros_like(rgb)
    for k in np.linspace(-length / 2, length / 2, taps + 1):
        dx, dy = int(round(k * math.cos(angle))), int(round(k * math.sin(angle)))
        acc += padded[pad + dy : pad + dy + h, pad + dx : pad + dx + w]
    return acc / (taps + 1)


def _interlace(rgb: np.ndarray, shift: int) -> np.ndarray:
    """Combing: the odd field was captured a moment later, displaced by the motion."""
    if shift <= 0 or shift >= rgb.shape[1]:
        return rgb
    out = rgb.copy()
    out[1::2, shift:] = rgb[1::2, :-shift]
    return out


class Camera:
    """Films the frames of one sequence; sensor noise comes from a per-sequence bank of
    Gaussian samples cropped at random offsets (drawing fresh normals per frame is slow)."""

    def __init__(self, rng: np.random.Generator, max_h: int, max_w: int) -> None:
        self.rng = rng
        bank = rng.standard_normal((max_h + 16, max_w + 16, 4), dtype=np.float32)
        self.bank = bank[..., :1] + 0.4 * bank[..., 1:]  # shared luma grain + weaker chroma

    def _grain(self, h: int, w: int) -> np.ndarray:
        top = int(self.rng.integers(self.bank.shape[0] - h + 1))
        left = int(self.rng.integers(self.bank.shape[1] - w + 1))
        return self.bank[top : top + h, left : left + w]

    def film(self, rgb: np.ndarray, frame: FrameParams) -> bytes:
        """Scene [H, W, 3] float -> JPEG bytes, through the whole camera chain."""
        rgb = motion_blur(_shadow(rgb, frame), frame.blur, frame.blur_angle)
        rgb = _interlace(rgb, frame.interlace)
        image = Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8))
        image = _exposure(image, float(rgb.mean()), frame)
        if frame.defocus > 0.5:
            image = image.filter(ImageFilter.BoxBlur(frame.defocus))
        size = image.size
        if frame.lowres > 1.05:
            small = (max(4, round(size[0] / frame.lowres)), max(4, round(size[1] / frame.lowres)))
            bilinear = Image.Resampling.BILINEAR
            image = image.resize(small, bilinear).resize(size, bilinear)
        if frame.sharpen:
            image = image.filter(ImageFilter.UnsharpMask(1.5, frame.sharpen, 2))
        pixels = np.asarray(image, np.float32)
        pixels += self._grain(size[1], size[0]) * np.float32(frame.noise)
        image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
        buffer = io.BytesIO()
        image.save(buffer, format="JPEG", quality=frame.quality, subsampling=2, optimize=False)
        return buffer.getvalue()
