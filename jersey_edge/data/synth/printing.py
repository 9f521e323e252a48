"""The print on the shirt: number, name and sponsor drawn once per track as a flat texture.

The renderer wraps this texture around the turning torso, so squashing at an angle and
digits vanishing round the side come from geometry, not from a hand-made distortion. Every
number pixel carries which digit it belongs to, so the renderer can measure how much of each
digit a frame really shows.
"""

from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple, Union

import numpy as np
from PIL import Image, ImageDraw

from .block_digits import BlockStyle, block_masks
from .style import RENDER_SIZE, Colour, Kit, Shadow, load_font

BASE_RES = 96  # texture pixels per body unit (half the shoulder width)
TEX_U = 1.25  # texture spans U in [-TEX_U, TEX_U] ...
TEX_Y = (-1.3, 1.1)  # ... and Y in this range, on the back and again on the front
TENS, ONES = 1, 2
LETTERS = "ABCDEFGHIJKLMNOPRSTUVWYZ"
Glyph = Tuple[np.ndarray, np.ndarray]  # (alpha [h, w], colour [h, w, 3])
Face = Union[str, BlockStyle]  # a font file, or a procedural block construction


@dataclass(frozen=True)
class PrintTexture:
    """Back and front side by side, [H, 2W, 5]: premultiplied RGB, alpha, digit id.

    One array so the renderer fetches everything about a texel with a single gather.
    """

    planes: np.ndarray
    res: float  # texture pixels per body unit
    number_height: float  # body units, of the number on the back

    @property
    def side_width(self) -> int:
        return self.planes.shape[1] // 2

    def _back(self, digit: int) -> np.ndarray:
        back = self.planes[:, : self.side_width]
        return np.where(back[..., 4] == digit, back[..., 3], 0.0)

    def back_centre(self, digit: int) -> float:
        """Lateral position (body units) of one digit on the back; 0 when absent."""
        ink = self._back(digit).sum(axis=0)
        if ink.sum() == 0:
            return 0.0
        return float((ink * np.arange(ink.size)).sum() / ink.sum() / self.res - TEX_U)

    def back_ink(self, digit: int) -> float:
        """Area (body units^2) of one digit on the back: what a square-on view shows."""
        return float(self._back(digit).sum()) / self.res**2

    def resampled(self, res: float) -> "PrintTexture":
        """The same print at about `res` pixels per unit, box-filtered so small crops do not
        alias (premultiplied colour makes per-plane filtering correct)."""
        height, width, _ = self.planes.shape
        rows = max(2, round(height * res / self.res))
        if rows >= height:
            return self
        size = (round(width * rows / height / 2) * 2, rows)
        filters = (Image.Resampling.BOX,) * 4 + (Image.Resampling.NEAREST,)
        small = [
            np.asarray(Image.fromarray(self.planes[..., k]).resize(size, f))
            for k, f in enumerate(filters)
        ]
        return PrintTexture(np.dstack(small), self.res * rows / height, self.number_height)


class _Sheet:
    """One side of the texture being drawn, in body units."""

    def __init__(self) -> None:
        self.width = round(2 * TEX_U * BASE_RES)
        self.height = round((TEX_Y[1] - TEX_Y[0]) * BASE_RES)
        self.colour = np.zeros((self.height, self.width, 3), np.float32)
        self.alpha = np.zeros((self.height, self.width), np.float32)
        self.digit = np.zeros((self.height, self.width), np.uint8)

    def stamp(self, mask: np.ndarray, colour: np.ndarray, u: float, y: float, ident: int) -> None:
        """Alpha-blend `mask` ([h, w] 0-1) centred at (u, y) body units."""
        h, w = mask.shape
        top = round((y - TEX_Y[0]) * BASE_RES - h / 2)
        left = round((u + TEX_U) * BASE_RES - w / 2)
        sy = slice(max(top, 0), min(top + h, self.height))
        sx = slice(max(left, 0), min(left + w, self.width))
        part = mask[sy.start - top : sy.stop - top, sx.start - left : sx.stop - left]
        col = (
            colour
            if colour.ndim == 1
            else colour[sy.start - top : sy.stop - top, sx.start - left : sx.stop - left]
        )
        self.colour[sy, sx] = self.colour[sy, sx] * (1 - part[..., None]) + col * part[..., None]
        self.alpha[sy, sx] = self.alpha[sy, sx] * (1 - part) + part
        if ident:
            self.digit[sy, sx] = np.where(part > 0.5, ident, self.digit[sy, sx])


def _masks(char: str, face: Face, stroke: int) -> Tuple[Image.Image, Image.Image]:
    """(fill with outline, fill alone) masks of one piece, drawn large."""
    if isinstance(face, BlockStyle):
        return block_masks(char, face, RENDER_SIZE, stroke)
    font = load_font(face)
    box = font.getbbox(char, stroke_width=stroke)
    size = (int(box[2] - box[0]) + 2, int(box[3] - box[1]) + 2)  # Pillow's box is whole pixels
    full, inner = Image.new("L", size), Image.new("L", size)
    origin = (1 - box[0], 1 - box[1])
    ImageDraw.Draw(full).text(
        origin, char, font=font, fill=255, stroke_width=stroke, stroke_fill=255
    )
    ImageDraw.Draw(inner).text(origin, char, font=font, fill=255)
    return full, inner


def _fill(kit: Kit, shape: Tuple[int, int], decorated: bool) -> np.ndarray:
    """The fill colour per pixel: the number colour, its lower part in a second tone."""
    fill = np.broadcast_to(np.asarray(kit.number, np.float32), shape + (3,))
    if decorated and kit.two_tone is not None:
        lower, split = kit.two_tone
        rows = np.arange(shape[0])[:, None, None] >= split * shape[0]
        fill = np.where(rows, np.asarray(lower, np.float32), fill)
    return fill


def _with_shadow(alpha: np.ndarray, colour: np.ndarray, shadow: Shadow) -> Glyph:
    """The glyph over a copy of itself offset down-right in the shadow colour."""
    h, w = alpha.shape
    dy, dx = max(1, round(shadow.dy * h)), max(1, round(shadow.dx * h))
    top = np.zeros((h + dy, w + dx), np.float32)
    under = np.zeros_like(top)
    top[:h, :w], under[dy:, dx:] = alpha, alpha
    paint = np.zeros(top.shape + (3,), np.float32)
    paint[:h, :w] = colour
    total = top + under * (1 - top)
    mixed = paint * top[..., None] + np.asarray(shadow.colour, np.float32) * (
        under * (1 - top)
    )[..., None]
    return total, mixed / np.maximum(total, 1e-6)[..., None]


def _glyphs(
    pieces: Sequence[str],
    kit: Kit,
    face: Face,
    height: float,
    outline: Optional[Colour],
    decorated: bool = False,
) -> List[Glyph]:
    """Per piece (a digit, or a whole word): alpha and colour, caps `height` units tall.
    `decorated` numbers get the kit's drop shadow and second tone."""
    stroke = 7 if outline is not None else 0
    out = []
    for char in pieces:
        full, inner = _masks(char, face, stroke)
        scale = height * BASE_RES / full.size[1]
        new = (max(1, round(full.size[0] * scale * kit.condense)), max(1, round(height * BASE_RES)))
        lanczos = Image.Resampling.LANCZOS
        full_a = np.clip(np.asarray(full.resize(new, lanczos), np.float32) / 255.0, 0, 1)
        inner_a = np.asarray(inner.resize(new, lanczos), np.float32) / 255.0
        fill = _fill(kit, full_a.shape, decorated)
        if outline is None:
            colour = np.array(fill)
        else:
            edge = np.asarray(outline, np.float32)
            colour = edge + (fill - edge) * np.clip(inner_a, 0, 1)[..., None]
        glyph = (full_a, colour)
        if decorated and kit.shadow is not None:
            glyph = _with_shadow(full_a, colour, kit.shadow)
        out.append(glyph)
    return out


def _stamp_text(
    sheet: _Sheet,
    glyphs: List[Glyph],
    u: float,
    y: float,
    gap: float,
    max_width: float,
    digits: bool,
) -> None:
    widths = [mask.shape[1] for mask, _ in glyphs]
    total = sum(widths) + gap * BASE_RES * (len(glyphs) - 1)
    shrink = min(1.0, max_width * BASE_RES / total)
    left = u - total * shrink / BASE_RES / 2
    for i, (mask, colour) in enumerate(glyphs):
        if shrink < 1.0:
            mask, colour = _shrink(mask, colour, shrink)
        w = mask.shape[1] / BASE_RES
        ident = (ONES if i == len(glyphs) - 1 else TENS) if digits else 0
        sheet.stamp(mask, colour, left + w / 2, y, ident)
        left += w + gap * shrink


def _shrink(mask: np.ndarray, colour: np.ndarray, factor: float) -> Glyph:
    h, w = mask.shape
    size = (max(1, round(w * factor)), max(1, round(h * factor)))
    bilinear = Image.Resampling.BILINEAR
    m = np.asarray(Image.fromarray(mask).resize(size, bilinear))
    c = np.dstack(
        [np.asarray(Image.fromarray(colour[..., k]).resize(size, bilinear)) for k in range(3)]
    )
    return m, c


def _random_word(rng: np.random.Generator, low: int, high: int) -> str:
    return "".join(
        LETTERS[int(i)] for i in rng.integers(len(LETTERS), size=int(rng.integers(low, high + 1)))
    )


def build_print(kit: Kit, label: int, rng: np.random.Generator) -> PrintTexture:
    """Back: optional name bar above a big number. Front: sponsor, crest, optional number."""
    digits = str(label)
    back, front = _Sheet(), _Sheet()
    height = float(rng.uniform(0.85, 1.15))
    if kit.has_name:
        name = _glyphs([_random_word(rng, 4, 9)], kit, kit.font, 0.17, None)
        _stamp_text(back, name, 0.0, -0.82, 0.02, 1.5, False)
    centre = float(rng.uniform(-0.1, 0.12)) + (0.08 if kit.has_name else -0.08)
    gap = float(rng.uniform(0.02, 0.1))
    face: Face = kit.block if kit.block is not None else kit.font
    number = _glyphs(digits, kit, face, height, kit.outline, decorated=True)
    _stamp_text(back, number, 0.0, centre, gap, 1.8, True)
    sponsor_y = -0.3
    if kit.chest_number == "large":
        chest = _glyphs(digits, kit, face, 0.7, kit.outline, decorated=True)
        _stamp_text(front, chest, 0.0, 0.15, gap, 1.3, True)
        sponsor_y = -0.68
    elif kit.chest_number == "small":
        _stamp_text(front, _glyphs(digits, kit, face, 0.28, None), -0.45, -0.78, 0.03, 0.5, True)
    if kit.sponsor:
        word = _glyphs([_random_word(rng, 3, 7)], kit, "DejaVuSans-Bold.ttf", 0.26, None)
        _stamp_text(front, word, 0.0, sponsor_y, 0.02, 1.45, False)
    size = round(0.18 * BASE_RES)
    yy, xx = np.mgrid[-1 : 1 : size * 1j, -1 : 1 : size * 1j]
    crest = np.clip((1 - np.hypot(xx, yy)) * size / 2, 0, 1).astype(np.float32)
    front.stamp(crest, np.asarray(kit.trim, np.float32), 0.5, -0.98, 0)
    planes = [
        np.concatenate([getattr(back, name), getattr(front, name)], axis=1).astype(np.float32)
        for name in ("colour", "alpha", "digit")
    ]
    return PrintTexture(np.dstack(planes), float(BASE_RES), height)
