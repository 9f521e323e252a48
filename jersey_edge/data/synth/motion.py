"""How one sequence unfolds: per-frame turn, position, zoom, blur, light, occlusion, codec.

A sequence first draws its own hardness around `SynthConfig.difficulty`; every degradation
scales with it, so the dataset mixes clean close-ups with tiny, smeared, turned-away tracks.
Per-frame values drift smoothly (a tracker follows a moving player) with occasional spikes
(a camera whip-pan, a passing opponent) that make single frames unreadable.
"""

from dataclasses import dataclass
from typing import Any, Dict, Optional, Tuple

import numpy as np

from .config import SynthConfig
from .style import FONT_FILES, KIT_COLOURS, SKIN_TONES, Colour, luma

# Floodlight tints (R, G, B gains): sodium, cool LED, fluorescent green, mixed magenta.
STADIUM_TINTS: Tuple[Colour, ...] = (
    (1.15, 0.98, 0.72),
    (0.88, 0.97, 1.14),
    (0.94, 1.09, 0.9),
    (1.08, 0.9, 1.04),
)

MIN_DETAIL = 34  # pixels across a crop after the low-resolution round trip


@dataclass(frozen=True)
class Occluder:
    """Something in front of the player; position and size in body units."""

    kind: str  # "player" | "arm" | "ball"
    u: float
    y: float
    size: float
    angle: float
    colour: Colour
    skin: Colour  # of the player an arm or passing body belongs to
    number: Optional[int] = None  # a passing player's own number, printed on them
    number_colour: Colour = (240, 240, 238)
    font: str = FONT_FILES[0]


@dataclass(frozen=True)
class FrameParams:
    width: int  # crop size in output pixels
    height: int
    theta: float  # body turn in radians; 0 = back to the camera, pi = facing it
    cx: float  # torso origin inside the crop, output pixels
    cy: float
    scale: float  # output pixels per body unit (half the shoulder width)
    swing: float  # arm swing, radians
    fold: float  # phase of the shirt's folds
    pan: Tuple[float, float]  # background offset as a fraction of its margin
    blur: float  # motion blur length, output pixels
    blur_angle: float
    defocus: float  # Gaussian radius, output pixels
    gain: float
    contrast: float
    cast: Tuple[float, float, float]
    saturation: float
    sharpen: int  # unsharp-mask percent, broadcast edge enhancement; 0 = none
    shadow: Tuple[float, float, float]  # (edge position -1..1, angle, depth); depth 0 = none
    noise: float  # Gaussian sigma, 0-255 scale
    lowres: float  # downscale factor before upscaling back (>= 1)
    interlace: int  # pixels the second field is displaced (combing); 0 = progressive
    quality: int  # JPEG quality
    occluder: Optional[Occluder]


@dataclass(frozen=True)
class SequenceMotion:
    frames: Tuple[FrameParams, ...]
    light: Tuple[float, float]  # key light direction (x, towards camera)
    folds: Tuple[Tuple[float, float, float, float], ...]  # (amplitude, frequency, angle, phase)


def _walk(rng: np.random.Generator, n: int, step: float, bound: float) -> np.ndarray:
    """A bounded random walk: tracker jitter and player drift are correlated in time."""
    return np.clip(np.cumsum(rng.normal(0, step, n)), -bound, bound)


def _turns(rng: np.random.Generator, n: int, hard: float) -> np.ndarray:
    f = np.arange(n)
    if rng.random() < 0.55 - 0.3 * hard:
        start = rng.normal(0, 0.45)
    else:
        start = rng.uniform(-np.pi, np.pi)
    speed = rng.normal(0, np.radians(5 + 12 * hard))
    sway = rng.uniform(0, np.radians(20)) * np.sin(
        2 * np.pi * f / rng.uniform(5, 16) + rng.uniform(0, 6.3)
    )
    return start + speed * f + sway + rng.normal(0, np.radians(3), n)


def _occluders(
    rng: np.random.Generator, n: int, hard: float, config: SynthConfig
) -> Tuple[Optional[Occluder], ...]:
    """At most one thing crossing the player per sequence; a passing player often shows a
    number of their own, the distractor a tracker's crop of a crowded box really holds."""
    if rng.random() > 0.15 + 0.35 * hard:
        return (None,) * n
    kind = ("player", "player", "arm", "arm", "ball")[int(rng.integers(5))]
    size = {
        "player": rng.uniform(0.8, 1.3),
        "arm": rng.uniform(0.19, 0.28),
        "ball": rng.uniform(0.25, 0.45),
    }[kind]
    speed = {
        "player": rng.uniform(0.3, 0.7),
        "arm": rng.uniform(0.15, 0.45),
        "ball": rng.uniform(0.4, 1.2),
    }[kind]
    speed *= 1 if rng.random() < 0.5 else -1
    palette = {"player": KIT_COLOURS, "arm": KIT_COLOURS, "ball": ((240, 240, 240),)}[kind]
    colour = palette[int(rng.integers(len(palette)))]
    skin = SKIN_TONES[int(rng.integers(len(SKIN_TONES)))]
    cross, offset = rng.uniform(-1, n), rng.uniform(-0.5, 0.5)
    y, angle = rng.uniform(-0.6, 0.5), rng.uniform(-1.0, 1.0)
    extra: Dict = {}
    if kind == "player" and rng.random() < config.distractors:
        ink = (25.0, 25.0, 30.0) if luma(colour) > 135 else (240.0, 240.0, 238.0)
        font = FONT_FILES[int(rng.integers(len(FONT_FILES)))]
        extra = {"number": int(rng.integers(100)), "number_colour": ink, "font": font}
    out = []
    for f in range(n):
        u = offset + speed * (f - cross)
        reach = size + (2.2 if kind == "arm" else 1.3)
        out.append(
            Occluder(kind, float(u), float(y), float(size), float(angle), colour, skin, **extra)
            if abs(u) < reach
            else None
        )
    return tuple(out)


def _framing(rng: np.random.Generator, n: int, hard: float, config: SynthConfig) -> Dict:
    """Tracker box size/aspect, where the player sits in it, and the camera pan behind.

    Player drift is a smooth walk (it also blurs); on top, the detector's boxes jitter
    frame to frame and now and then slip off the player, as real tracks do.
    """
    (w_low, w_high), (a_low, a_high) = config.width, config.aspect
    jitter = config.box_jitter
    width = w_low * (w_high / w_low) ** rng.beta(2.0 - hard, 1.0 + 1.5 * hard)
    aspect = rng.uniform(a_low, a_high)
    zoom = 1 + np.linspace(0, rng.uniform(-0.18, 0.18), n) + _walk(rng, n, 0.015, 0.06)
    zoom = zoom * (1 + rng.normal(0, 0.025 * jitter, n))
    widths = np.clip(np.round(width * zoom), w_low, w_high)
    heights = np.round(widths * np.clip(aspect + rng.normal(0, 0.03, n), a_low, a_high))
    fit = rng.uniform(0.33, 0.45) * (1 + _walk(rng, n, 0.012, 0.05))
    walk_x, dy = _walk(rng, n, 0.02, 0.08), _walk(rng, n, 0.012, 0.05)
    slips = (rng.random(n) < 0.04 * jitter) * rng.choice((-1.0, 1.0), n)
    slips = slips * rng.uniform(0.08, 0.18, n)
    dx = walk_x + rng.normal(0, 0.012 * jitter, n) + slips
    dy = dy + rng.normal(0, 0.008 * jitter, n)
    centre_y = rng.uniform(0.38, 0.47)
    pan_x = np.clip(0.5 + _walk(rng, n, 0.06, 0.5), 0, 1)
    pan_y = np.clip(0.5 + _walk(rng, n, 0.03, 0.5), 0, 1)
    return {
        "width": widths.astype(int),
        "height": heights.astype(int),
        "cx": widths * (0.5 + dx),
        "cy": heights * (centre_y + dy),
        "scale": widths * fit,
        "pan": [(float(x), float(y)) for x, y in zip(pan_x, pan_y)],
        "drift": np.abs(np.diff(walk_x, prepend=walk_x[0])) * widths,
    }


def _optics(
    rng: np.random.Generator, n: int, hard: float, config: SynthConfig, framing: Dict
) -> Dict:
    """Motion blur (with whip-pan spikes), focus, resolution, sensor noise, JPEG quality."""
    widths = framing["width"]
    blur = np.abs(rng.exponential(0.4 + 2.5 * hard) + rng.normal(0, 0.4 + hard, n))
    spikes = rng.random(n) < 0.04 + 0.12 * hard
    blur = blur + 1.5 * framing["drift"] + spikes * rng.uniform(3, 9, n)
    defocus = rng.uniform(0, 0.3 + 0.9 * hard) + np.abs(rng.normal(0, 0.15, n))
    # upsampled footage: small crops are already low-res, so never below ~MIN_DETAIL wide
    lowres = 1 + rng.uniform(0, 0.3 + 1.6 * hard) * (1 + rng.normal(0, 0.1, n))
    noise = (1.5 + rng.uniform(0, 2 + 9 * hard)) * (1 + rng.normal(0, 0.15, n))
    interlaced = rng.random() < config.interlace
    comb = np.round(rng.uniform(1, 3) + framing["drift"]) * interlaced
    q_low, q_high = config.jpeg_quality
    quality = q_high - rng.uniform(0, 0.3 + 0.7 * hard) * (q_high - q_low) + rng.normal(0, 4, n)
    return {
        "blur": np.minimum(blur, 0.16 * widths),
        "blur_angle": rng.normal(0, 0.3, n),
        "defocus": defocus + spikes * rng.uniform(0, 1.2, n),
        "lowres": np.clip(lowres, 1, np.maximum(1, widths / MIN_DETAIL)),
        "noise": np.maximum(0.5, noise),
        "quality": np.clip(np.round(quality), q_low, q_high).astype(int),
        "sharpen": np.full(n, int(rng.uniform(40, 160)) if rng.random() < 0.35 else 0),
        "interlace": comb.astype(int),
    }


def _lighting(rng: np.random.Generator, n: int, hard: float, config: SynthConfig) -> Dict:
    """Exposure drifting through the clip, a grade per clip (sometimes under tinted
    floodlights), now and then a shadow edge."""
    depth = rng.uniform(0.25, 0.55) if rng.random() < 0.25 else 0.0
    position = rng.uniform(-1, 1) + np.linspace(0, rng.uniform(-0.8, 0.8), n)
    angle = rng.uniform(0, np.pi)
    tint = np.ones(3)
    if rng.random() < config.stadium_light:
        strength = rng.uniform(0.5, 1.0)
        tint = 1 + strength * (np.asarray(STADIUM_TINTS[int(rng.integers(len(STADIUM_TINTS)))]) - 1)
    cast = tuple(float(c) for c in tint * rng.normal(1, 0.06, 3))
    return {
        "gain": rng.uniform(0.7 - 0.15 * hard, 1.2) * (1 + _walk(rng, n, 0.02, 0.1)),
        "contrast": np.full(n, rng.uniform(0.7, 1.1)),
        "cast": [cast] * n,
        "saturation": np.full(n, rng.uniform(0.65, 1.1)),
        "shadow": [(float(p), float(angle), float(depth)) for p in position],
    }


def sample_motion(rng: np.random.Generator, config: SynthConfig) -> SequenceMotion:
    hard = float(np.clip(rng.normal(config.difficulty, 0.22), 0.0, 1.0))
    n = int(rng.integers(config.frames[0], config.frames[1] + 1))
    framing = _framing(rng, n, hard, config)
    values = {
        **framing,
        **_optics(rng, n, hard, config, framing),
        **_lighting(rng, n, hard, config),
    }
    del values["drift"]
    values["theta"] = _turns(rng, n, hard)
    values["swing"] = rng.uniform(0, 0.5) * np.sin(
        np.arange(n) * rng.uniform(0.4, 1.2) + rng.uniform(0, 6.3)
    )
    values["fold"] = rng.uniform(0, 6.3) + np.cumsum(rng.normal(0, 0.25, n))
    values["occluder"] = _occluders(rng, n, hard, config)
    light = (float(rng.uniform(-0.7, 0.7)), float(rng.uniform(0.5, 1.0)))
    folds = tuple(_fold(rng) for _ in range(3))
    frames = tuple(FrameParams(**{k: _plain(v[f]) for k, v in values.items()}) for f in range(n))
    return SequenceMotion(frames, light, folds)


def _fold(rng: np.random.Generator) -> Tuple[float, float, float, float]:
    """One shirt fold: (amplitude, frequency, angle, phase)."""
    amplitude, frequency, angle, phase = (
        float(rng.uniform(*r)) for r in ((0.03, 0.14), (2, 7), (0.3, 2.8), (0, 6.3))
    )
    return amplitude, frequency, angle, phase


def _plain(value: Any) -> Any:
    """numpy scalars -> Python numbers, so frame parameters never upcast float32 arrays."""
    return value.item() if isinstance(value, np.generic) else value
