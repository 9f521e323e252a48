"""Who the player is: one kit, skin, lettering and venue per track (shared by its sequences),
and the font files the lettering is drawn with."""

import functools
import importlib.util
import os
from dataclasses import dataclass
from typing import Optional, Sequence, Tuple, TypeVar

import numpy as np
from PIL import ImageFont

from jersey_edge.core.errors import DatasetError

from .block_digits import BlockStyle, sample_block_style
from .config import SynthConfig

Colour = Tuple[float, float, float]
T = TypeVar("T")

KIT_COLOURS: Tuple[Colour, ...] = (
    (200, 30, 40),
    (125, 22, 45),
    (30, 70, 180),
    (22, 32, 75),
    (110, 170, 225),
    (235, 235, 232),
    (235, 235, 232),
    (28, 28, 30),
    (240, 205, 40),
    (240, 120, 30),
    (30, 125, 60),
    (90, 45, 135),
    (135, 135, 140),
    (0, 150, 160),
    (215, 70, 140),
)
SKIN_TONES: Tuple[Colour, ...] = (
    (240, 200, 170),
    (225, 180, 145),
    (200, 150, 110),
    (160, 110, 75),
    (120, 80, 55),
    (85, 55, 40),
)
HAIR_COLOURS: Tuple[Colour, ...] = (
    (25, 20, 18),
    (60, 40, 25),
    (110, 75, 40),
    (190, 150, 90),
    (40, 35, 35),
)
PATTERNS = ("plain", "plain", "plain", "stripes", "hoops", "sleeves", "panels", "halves")
VENUES = ("pitch", "pitch", "boards", "court", "crowd")
MIN_NUMBER_CONTRAST = 65.0


@dataclass(frozen=True)
class Shadow:
    """A drop shadow behind the number, offset down-right, in a trim colour."""

    colour: Colour
    dx: float  # fractions of the number's height
    dy: float


@dataclass(frozen=True)
class Kit:
    primary: Colour
    secondary: Colour
    trim: Colour
    shorts: Colour
    socks: Colour
    number: Colour
    outline: Optional[Colour]
    pattern: str
    stripe: float
    sleeves: str  # short | long | none (basketball vests)
    font: str
    block: Optional[BlockStyle]  # procedural block digits instead of the font's
    shadow: Optional[Shadow]
    two_tone: Optional[Tuple[Colour, float]]  # lower fill colour and where it starts, 0-1
    condense: float
    has_name: bool
    sponsor: bool
    chest_number: str
    skin: Colour
    hair: Colour
    venue: str
    gloss: float


def luma(colour: Colour) -> float:
    return 0.299 * colour[0] + 0.587 * colour[1] + 0.114 * colour[2]


def _jitter(rng: np.random.Generator, colour: Colour, amount: float) -> Colour:
    out = np.clip(np.asarray(colour) + rng.normal(0, amount, 3), 0, 255)
    return (float(out[0]), float(out[1]), float(out[2]))


def _pick(rng: np.random.Generator, options: Sequence[T]) -> T:
    return options[int(rng.integers(len(options)))]


def _number_colour(
    rng: np.random.Generator, primary: Colour, secondary: Colour, busy: bool
) -> Colour:
    """Mostly white/black/secondary; often only just contrasting, as on many real kits.

    On a striped/hooped/halved back the number sits on both colours, so it must read on both.
    """
    backs = (primary, secondary) if busy else (primary,)
    light = luma(primary) > 135
    candidates: Tuple[Colour, ...] = (
        secondary,
        (25, 25, 30) if light else (240, 240, 238),
        (200, 30, 40) if light else (240, 205, 40),
    )
    for _ in range(8):
        colour = _jitter(rng, _pick(rng, candidates), 12)
        if min(abs(luma(colour) - luma(back)) for back in backs) >= MIN_NUMBER_CONTRAST:
            return colour
    dark, bright = (25.0, 25.0, 30.0), (240.0, 240.0, 238.0)
    return max((dark, bright), key=lambda c: min(abs(luma(c) - luma(b)) for b in backs))


def _two_tone(
    rng: np.random.Generator, primary: Colour, secondary: Colour, number: Colour, busy: bool
) -> Optional[Tuple[Colour, float]]:
    """A second fill colour for the lower part of the number, itself readable on the shirt
    and clearly unlike the first (else there is no second tone)."""
    for _ in range(4):
        lower = _number_colour(rng, primary, secondary, busy)
        if float(np.abs(np.subtract(lower, number)).sum()) >= 90:
            return lower, float(rng.uniform(0.4, 0.65))
    return None


def sample_kit(rng: np.random.Generator, config: SynthConfig) -> Kit:
    primary = _jitter(rng, _pick(rng, KIT_COLOURS), 14)
    secondary = _jitter(rng, _pick(rng, KIT_COLOURS), 14)
    pattern = str(_pick(rng, PATTERNS))
    busy = pattern in ("stripes", "hoops", "halves")
    number = _number_colour(rng, primary, secondary, busy)
    venue = str(_pick(rng, VENUES))
    sleeves = "none" if venue == "court" and rng.random() < 0.6 else "short"
    if sleeves == "short" and rng.random() < 0.15:
        sleeves = "long"
    outline = None
    if rng.random() < 0.35:
        outline = _jitter(rng, secondary if rng.random() < 0.5 else primary, 10)
    block = sample_block_style(rng) if rng.random() < config.block_digits else None
    shadow = None
    if rng.random() < config.drop_shadow:
        tones: Tuple[Colour, ...] = (secondary, (25.0, 25.0, 30.0), primary)
        tone = tones[int(rng.integers(len(tones)))]
        dx, dy = (float(v) for v in rng.uniform(0.03, 0.08, 2))
        shadow = Shadow(_jitter(rng, tone, 10), dx, dy)
    two_tone = None
    if rng.random() < config.two_tone:
        two_tone = _two_tone(rng, primary, secondary, number, busy)
    return Kit(
        primary=primary,
        secondary=secondary,
        trim=_jitter(rng, _pick(rng, (secondary, number, primary)), 10),
        shorts=_jitter(rng, _pick(rng, (primary, secondary, (245, 245, 245), (25, 25, 30))), 12),
        socks=_jitter(rng, _pick(rng, (primary, secondary, (245, 245, 245))), 12),
        number=number,
        outline=outline,
        pattern=pattern,
        stripe=float(rng.uniform(0.14, 0.32)),
        sleeves=sleeves,
        font=str(_pick(rng, FONT_FILES)),
        block=block,
        shadow=shadow,
        two_tone=two_tone,
        condense=float(rng.uniform(0.72, 1.1)),
        has_name=bool(rng.random() < 0.6),
        sponsor=bool(rng.random() < 0.7),
        chest_number=str(_pick(rng, ("none", "none", "small", "large"))),
        skin=_jitter(rng, _pick(rng, SKIN_TONES), 8),
        hair=_jitter(rng, _pick(rng, HAIR_COLOURS), 6),
        venue=venue,
        gloss=float(rng.uniform(0.0, 0.35)),
    )


# Bold faces are listed twice: most kits use heavy block numbers.
FONT_FILES: Tuple[str, ...] = (
    "DejaVuSans-Bold.ttf",
    "DejaVuSans-Bold.ttf",
    "DejaVuSansMono-Bold.ttf",
    "DejaVuSerif-Bold.ttf",
    "DejaVuSerif-Bold.ttf",
    "DejaVuSans-BoldOblique.ttf",
    "DejaVuSansMono-BoldOblique.ttf",
    "DejaVuSerif-BoldItalic.ttf",
    "DejaVuSans.ttf",
    "DejaVuSansMono.ttf",
    "DejaVuSerif.ttf",
    "STIXGeneralBol.ttf",
    "STIXGeneralBol.ttf",
    "STIXGeneralBolIta.ttf",
    "cmb10.ttf",
    "cmb10.ttf",
    "cmss10.ttf",
    "cmtt10.ttf",
)
RENDER_SIZE = 120


def font_dir() -> str:
    spec = importlib.util.find_spec("matplotlib")
    if spec is None or spec.origin is None:
        raise DatasetError(
            "the synthetic generator needs the DejaVu fonts shipped with matplotlib; "
            "install it with: pip install 'jersey-edge[train]'"
        )
    return os.path.join(os.path.dirname(spec.origin), "mpl-data", "fonts", "ttf")


@functools.lru_cache(maxsize=None)
def load_font(name: str) -> ImageFont.FreeTypeFont:
    """One large instance per face and process; glyphs are drawn big and resampled down."""
    path = os.path.join(font_dir(), name)
    if not os.path.isfile(path):
        raise DatasetError(f"font {path} is missing; reinstall matplotlib")
    return ImageFont.truetype(path, RENDER_SIZE)
