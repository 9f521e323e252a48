"""Procedural block numerals: the heavy, square-cut digits most team kits actually wear.

No shipped font has them, so each digit is a skeleton of straight strokes swept by a pen
polygon: a square pen gives block corners, a square with its corners cut gives the
chamfered "collegiate" look, a flatter pen gives thinner horizontals. Every digit of a kit
shares one construction (weight, cut, width, middle bar, slab serifs), as on a real set.
An outline is the same sweep with a larger pen, so its corners follow the fill's.
"""

from dataclasses import dataclass
from typing import Dict, List, Sequence, Tuple

import numpy as np
from PIL import Image, ImageDraw

COUNTER = 0.2  # narrowest inner gap of a digit, fraction of its height
Point = Tuple[float, float]
Stroke = Tuple[Point, ...]  # a polyline in the digit's unit box, x right, y down


@dataclass(frozen=True)
class BlockStyle:
    stroke: float  # vertical stroke width / digit height
    contrast: float  # horizontal stroke width / vertical stroke width
    cut: float  # corner chamfer, fraction of half a stroke (0 = square corners)
    width: float  # digit width / height
    middle: float  # height of the middle bar from the top, 0-1
    serifs: bool  # slab feet on 1, 4 and 7, a flag on 1


def sample_block_style(rng: np.random.Generator) -> BlockStyle:
    """Heavy but legible: the counters of 0 and 8 stay open at least a fifth of the height,
    which leaves room for an outline to grow into them."""
    width = float(rng.uniform(0.5, 0.7))
    return BlockStyle(
        stroke=float(rng.uniform(0.12, (width - COUNTER) / 2)),
        contrast=float(rng.uniform(0.7, 1.0)),
        cut=0.0 if rng.random() < 0.4 else float(rng.uniform(0.3, 0.9)),
        width=width,
        middle=float(rng.uniform(0.43, 0.55)),
        serifs=bool(rng.random() < 0.3),
    )


def _skeleton(digit: str, m: float, serifs: bool) -> List[Stroke]:
    """Strokes of one digit; `m` is the middle bar's height."""
    loop = ((0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0), (0.0, 0.0))
    strokes: Dict[str, List[Stroke]] = {
        "0": [loop],
        "1": [((0.55, 0.0), (0.55, 1.0)), ((0.15, 0.25), (0.55, 0.0))],
        "2": [((0.0, 0.0), (1.0, 0.0), (1.0, m), (0.0, m), (0.0, 1.0), (1.0, 1.0))],
        "3": [((0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0)), ((0.25, m), (1.0, m))],
        "4": [((0.75, 0.0), (0.0, 0.68), (1.0, 0.68)), ((0.75, 0.0), (0.75, 1.0))],
        "5": [((1.0, 0.0), (0.0, 0.0), (0.0, m), (1.0, m), (1.0, 1.0), (0.0, 1.0))],
        "6": [((1.0, 0.0), (0.0, 0.0), (0.0, 1.0), (1.0, 1.0), (1.0, m), (0.0, m))],
        "7": [((0.0, 0.0), (1.0, 0.0), (0.4, 1.0))],
        "8": [loop, ((0.0, m), (1.0, m))],
        "9": [((1.0, m), (0.0, m), (0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0))],
    }
    feet: Dict[str, List[Stroke]] = {
        "1": [((0.2, 1.0), (0.9, 1.0))],
        "4": [((0.5, 1.0), (1.0, 1.0))],
        "7": [((0.15, 1.0), (0.65, 1.0))],
    }
    return strokes[digit] + (feet.get(digit, []) if serifs else [])


def _pen(rx: float, ry: float, cut: float) -> List[Point]:
    """A rectangle of half-sizes (rx, ry) with its corners cut by `cut` of the smaller one."""
    c = cut * min(rx, ry)
    return [(-rx, -ry + c), (-rx + c, -ry), (rx - c, -ry), (rx, -ry + c),
            (rx, ry - c), (rx - c, ry), (-rx + c, ry), (-rx, ry - c)]


def _hull(points: Sequence[Point]) -> List[Point]:
    """Convex hull (Andrew's monotone chain): one segment swept by a convex pen."""
    pts = sorted(set(points))

    def half(seq: Sequence[Point]) -> List[Point]:
        out: List[Point] = []
        for p in seq:
            while len(out) >= 2 and (
                (out[-1][0] - out[-2][0]) * (p[1] - out[-2][1])
                - (out[-1][1] - out[-2][1]) * (p[0] - out[-2][0])
            ) <= 0:
                out.pop()
            out.append(p)
        return out

    lower, upper = half(pts), half(pts[::-1])
    return lower[:-1] + upper[:-1]


def block_masks(
    digit: str, style: BlockStyle, height: int, outline: float
) -> Tuple[Image.Image, Image.Image]:
    """'L' masks of `digit` `height` pixels tall: with an outline `outline` pixels wide all
    round, and the fill alone, on one canvas so they line up."""
    rx = style.stroke * height / 2
    ry = rx * style.contrast
    pad = round(outline) + 2
    box_w, box_h = style.width * height, float(height)
    size = (round(box_w + 2 * pad), round(box_h + 2 * pad))

    def to_px(p: Point) -> Point:
        return (pad + rx + p[0] * (box_w - 2 * rx), pad + ry + p[1] * (box_h - 2 * ry))

    masks = []
    for grow in (outline, 0.0):
        pen = _pen(rx + grow, ry + grow, style.cut)
        image = Image.new("L", size)
        draw = ImageDraw.Draw(image)
        for stroke in _skeleton(digit, style.middle, style.serifs):
            for a, b in zip(stroke[:-1], stroke[1:]):
                swept = [(e[0] + q[0], e[1] + q[1]) for e in (to_px(a), to_px(b)) for q in pen]
                draw.polygon(_hull(swept), fill=255)
        masks.append(image)
    return masks[0], masks[1]
