"""What is behind the player: pitch, advertising boards, court floor or crowd, plus a blurred
bystander now and then. One texture per sequence; frames crop it at moving offsets (pan).

The synthetic clip's pitch lives here too: one texture wider than the frame (crowd,
advertising boards, striped grass with its lines in perspective) and the slow pan that
crops it, so the background moves under the players the way it does in match footage."""

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
