"""The pitch a broadcast camera follows play on: one texture wider than the frame (crowd,
advertising boards, striped grass with its lines in perspective) and the slow pan that crops
it, so the background moves under the players the way it does in match footage."""

import math

import numpy as np
from PIL import Image, ImageFilter

from ..data.synth.background import smooth_noise
from ..data.synth.style import KIT_COLOURS

CROWD, BOARDS, TOUCHLINE = 0.15, 0.21, 0.25  # where each ends / runs, share of the height
PAN_SLACK = 0.5  # the texture is this share of the frame width wider than the frame
FLATTEN = 3.0  # depth units per across unit at equal pixels: how low the camera looks


def paint_pitch(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """[height, width, 3] uint8. The grass is drawn on ground coordinates X (across) and Z
    (depth) of a camera whose horizon lies above the frame, so mowing stripes, the halfway
    line and the centre circle narrow towards the far side as they do on television."""
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    horizon = -height * rng.uniform(1.2, 2.0)
    depth = yy - horizon  # pixels per ground unit on this row
    ground_x = (xx - width * rng.uniform(0.3, 0.7)) / depth
    ground_z = FLATTEN * width / depth
    base = np.array([rng.uniform(50, 85), rng.uniform(115, 160), rng.uniform(40, 70)], np.float32)
    period = width / rng.uniform(6, 10) / (0.6 * height - horizon)
    stripes = np.sign(np.sin(ground_x * (2 * math.pi / period)))
    shade = 1 + 0.06 * stripes + 0.05 * smooth_noise(rng, (height, width), (8, 16))
    img = base * shade[..., None] + rng.normal(0, 3, (height, width, 1)).astype(np.float32)
    centre_depth = height * rng.uniform(0.55, 0.7) - horizon
    radius = rng.uniform(0.1, 0.14) * width / centre_depth
    circle = np.hypot(ground_x, ground_z - FLATTEN * width / centre_depth) - radius
    lines = (np.abs(yy - TOUCHLINE * height), _in_pixels(ground_x), _in_pixels(circle))
    thickness = 0.8 + 1.6 * (yy / height)  # half-width, thinner on the far side
    paint = np.clip(thickness + 0.5 - np.minimum.reduce(lines), 0, 1)[..., None]
    img = img * (1 - paint) + 228 * paint
    img[: int(BOARDS * height)] = _stand(rng, int(CROWD * height), int(BOARDS * height), width)
    soft = Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).filter(
        ImageFilter.GaussianBlur(0.6))
    return np.asarray(soft)


def _in_pixels(ground: np.ndarray) -> np.ndarray:
    """Distance in pixels to where a ground-plane distance field is zero (first order)."""
    dy, dx = np.gradient(ground)
    return np.abs(ground) / np.maximum(np.hypot(dx, dy), 1e-9)


def _stand(rng: np.random.Generator, crowd: int, boards: int, width: int) -> np.ndarray:
    """Rows above the touchline: a blurred crowd, then boards of kit-coloured panels."""
    cells = (max(2, crowd // 3), max(2, width // 4))
    faces = rng.uniform(0, 200, (cells[0], cells[1], 3)).astype(np.uint8)
    stand = np.zeros((boards, width, 3), np.float32)
    crowd_rgb = Image.fromarray(faces).resize((width, crowd), Image.Resampling.BILINEAR)
    stand[:crowd] = np.asarray(crowd_rgb, np.float32) * rng.uniform(0.35, 0.55)
    panel = max(8, int(width * rng.uniform(0.12, 0.22)))
    for left in range(0, width, panel):
        colour = np.asarray(KIT_COLOURS[int(rng.integers(len(KIT_COLOURS)))], np.float32)
        stand[crowd:, left:left + panel] = colour
    writing = smooth_noise(rng, (boards - crowd, width), (2, width // 10 + 2)) > 0.5
    stand[crowd:][writing] = 255 - stand[crowd:][writing]
    return stand


def pan_offsets(rng: np.random.Generator, frames: int, slack: int, fps: float) -> np.ndarray:
    """Per frame, the texture column the frame starts at: the camera sweeps to and fro over
    `slack` columns, a sweep taking 4-8 s, so it never whips."""
    seconds = np.arange(frames) / fps
    phase = rng.uniform(0, 2 * math.pi)
    sweep = 0.5 + 0.5 * np.sin(phase + seconds * (2 * math.pi / rng.uniform(8, 16)))
    return np.round(sweep * slack).astype(int)
