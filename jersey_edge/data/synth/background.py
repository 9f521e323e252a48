"""What is behind the player: pitch, advertising boards, court floor or crowd, plus a blurred
bystander now and then. One texture per sequence; frames crop it at moving offsets (pan)."""

import math
from typing import Tuple

import numpy as np
from PIL import Image, ImageFilter

from .style import KIT_COLOURS


def smooth_noise(rng: np.random.Generator, shape: Tuple[int, int], cells: Tuple[int, int]):
    """Zero-mean, unit-ish noise with features about shape/cells pixels across (cheap)."""
    small = rng.normal(size=(max(1, cells[0]), max(1, cells[1]))).astype(np.float32)
    return np.asarray(Image.fromarray(small).resize((shape[1], shape[0]), Image.Resampling.BICUBIC))


def _grass(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    base = np.array([rng.uniform(45, 95), rng.uniform(105, 165), rng.uniform(35, 80)], np.float32)
    angle = rng.uniform(-0.5, 0.5)
    period = rng.uniform(0.4, 1.2) * max(h, w)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    phase = rng.uniform(0, 2 * np.pi)
    band = np.sign(
        np.sin((yy * math.cos(angle) + xx * math.sin(angle)) * 2 * np.pi / period + phase)
    )
    shade = 1 + 0.07 * band + 0.06 * smooth_noise(rng, (h, w), (h // 24 + 2, w // 24 + 2))
    img = base * shade[..., None] + rng.normal(0, 4, (h, w, 1)).astype(np.float32)
    if rng.random() < 0.3:
        dist = np.abs(yy * math.cos(angle * 3) - xx * math.sin(angle * 3) - rng.uniform(0, h))
        line = np.clip(rng.uniform(1.5, 4) - dist, 0, 1)[..., None]
        img = img * (1 - line) + 225 * line
    return img


def _boards(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    img = _grass(rng, h, w)
    top = int(h * rng.uniform(0.15, 0.45))
    colour = np.asarray(KIT_COLOURS[int(rng.integers(len(KIT_COLOURS)))], np.float32)
    board = np.broadcast_to(colour, (top, w, 3)).copy()
    blocks = smooth_noise(rng, (top, w), (3, int(rng.integers(6, 16)))) > 0.4
    board[blocks] = 255 - colour
    img[:top] = board
    return img


def _court(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    base = np.array(
        [rng.uniform(170, 225), rng.uniform(120, 165), rng.uniform(70, 110)], np.float32
    )
    grain = smooth_noise(rng, (h, w), (h // 3 + 2, 3))
    img = base * (1 + 0.08 * grain)[..., None]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    glare = np.exp(
        -(((xx - rng.uniform(0, w)) / (w * 0.4)) ** 2 + ((yy - rng.uniform(0, h)) / (h * 0.3)) ** 2)
    )
    img = img + 60 * rng.uniform(0, 1) * glare[..., None]
    if rng.random() < 0.5:
        paint = np.asarray(KIT_COLOURS[int(rng.integers(len(KIT_COLOURS)))], np.float32)
        dist = np.abs(yy - rng.uniform(0, h) - xx * rng.uniform(-0.3, 0.3))
        line = np.clip(rng.uniform(2, 5) - dist, 0, 1)[..., None]
        img = img * (1 - line) + paint * line
    return img


def _crowd(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    cells = (max(2, h // int(rng.integers(4, 9))), max(2, w // int(rng.integers(4, 9))))
    colours = rng.uniform(0, 200, (cells[0], cells[1], 3)).astype(np.uint8)
    img = np.asarray(Image.fromarray(colours).resize((w, h), Image.Resampling.BILINEAR), np.float32)
    dark = rng.uniform(0.35, 0.8)
    return img * dark + 20 * smooth_noise(rng, (h, w), (h // 10 + 2, w // 10 + 2))[..., None]


def _bystander(rng: np.random.Generator, img: np.ndarray) -> None:
    """A blurred other player at one side, behind ours: tracker crops are rarely clean."""
    h, w, _ = img.shape
    colour = np.asarray(KIT_COLOURS[int(rng.integers(len(KIT_COLOURS)))], np.float32)
    cx = w * (rng.uniform(-0.1, 0.15) if rng.random() < 0.5 else rng.uniform(0.85, 1.1))
    cy, rx, ry = h * rng.uniform(0.3, 0.6), w * rng.uniform(0.15, 0.3), h * rng.uniform(0.25, 0.45)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    r = np.hypot((xx - cx) / rx, (yy - cy) / ry)
    alpha = np.clip((1 - r) * 6, 0, 1)[..., None]
    shade = (0.75 + 0.25 * np.clip(1 - r, 0, 1))[..., None]
    img *= 1 - alpha
    img += colour * shade * alpha


VENUE_PAINTERS = {"pitch": _grass, "boards": _boards, "court": _court, "crowd": _crowd}


def make_background(rng: np.random.Generator, venue: str, h: int, w: int) -> np.ndarray:
    """[h, w, 3] float32 in 0-255, softened a little: the camera focuses on the player."""
    img = VENUE_PAINTERS[venue](rng, h, w)
    if rng.random() < 0.25:
        _bystander(rng, img)
    img = np.clip(img, 0, 255).astype(np.uint8)
    radius = float(rng.uniform(0.3, 2.0))
    soft = Image.fromarray(img).filter(ImageFilter.GaussianBlur(radius))
    return np.asarray(soft, np.float32)
