"""Two drawing surfaces in body coordinates (origin mid-chest, 1 = half shoulder width).

`Canvas` is the float frame: the shirt is shaded per pixel on it, and it keeps how much
number ink stays visible, so occlusion is measured rather than guessed. `Layer` draws flat
limbs and passers-by with Pillow at twice the size and box-filters them down, which is far
cheaper than per-pixel shapes and anti-aliases them; laid over the canvas it hides ink.
"""

from typing import Optional, Sequence, Tuple

import numpy as np
from PIL import Image, ImageDraw, ImageFont

Window = Tuple[slice, slice, np.ndarray, np.ndarray]  # rows, cols, X [1, w], Y [h, 1]
Point = Tuple[float, float]


class Canvas:
    def __init__(self, background: np.ndarray, cx: float, cy: float, scale: float) -> None:
        self.rgb = background
        size = background.shape[:2]
        self.ink: np.ndarray = np.zeros(size, np.float32)  # visible number ink, 0-1
        self.digit: np.ndarray = np.zeros(size, np.uint8)  # which digit that ink belongs to
        self.cx, self.cy, self.scale = cx, cy, scale

    def window(self, u0: float, u1: float, y0: float, y1: float) -> Optional[Window]:
        """Pixels covering body-unit box [u0, u1] x [y0, y1], clipped to the canvas."""
        h, w = self.ink.shape
        x_lo = max(0, int(self.cx + u0 * self.scale))
        x_hi = min(w, int(self.cx + u1 * self.scale) + 2)
        y_lo = max(0, int(self.cy + y0 * self.scale))
        y_hi = min(h, int(self.cy + y1 * self.scale) + 2)
        if x_lo >= x_hi or y_lo >= y_hi:
            return None
        xs = (np.arange(x_lo, x_hi, dtype=np.float32) + 0.5 - self.cx) / self.scale
        ys = (np.arange(y_lo, y_hi, dtype=np.float32) + 0.5 - self.cy) / self.scale
        return slice(y_lo, y_hi), slice(x_lo, x_hi), xs[None, :], ys[:, None]

    def cover(self, sdf: np.ndarray) -> np.ndarray:
        """Signed distance (body units, negative inside) -> anti-aliased coverage 0-1."""
        return np.clip(0.5 - sdf * self.scale, 0.0, 1.0)

    def paint(self, win: Window, alpha: np.ndarray, colour: np.ndarray) -> None:
        rows, cols = win[0], win[1]
        region = self.rgb[rows, cols]
        region += (colour - region) * alpha[..., None]
        self.ink[rows, cols] *= 1 - alpha


class Layer:
    """Pillow shapes at 2x, composited onto a Canvas in one pass.

    `behind=True` paints straight onto an upscaled copy of the canvas (shapes behind the
    shirt need no alpha and hide no ink), which skips the costly RGBA round trip.
    """

    SS = 2

    def __init__(self, canvas: Canvas, light: float, side_light: float, behind: bool) -> None:
        h, w = canvas.ink.shape
        size = (w * self.SS, h * self.SS)
        if behind:
            base = Image.fromarray(np.clip(canvas.rgb, 0, 255).astype(np.uint8))
            self.image = base.resize(size, Image.Resampling.NEAREST)
        else:
            self.image = Image.new("RGBA", size, (0, 0, 0, 0))
        self.draw = ImageDraw.Draw(self.image)
        self.cx, self.cy = canvas.cx * self.SS, canvas.cy * self.SS
        self.scale = canvas.scale * self.SS
        self.light, self.side_light = light, side_light
        self.empty = True

    def _xy(self, p: Point) -> Point:
        return (self.cx + p[0] * self.scale, self.cy + p[1] * self.scale)

    def _fill(self, colour: Sequence[float], shade: float) -> Tuple[int, ...]:
        k = shade * self.light
        rgb = tuple(min(255, int(c * k)) for c in colour)
        return rgb if self.image.mode == "RGB" else rgb + (255,)

    def _capsule(self, a: Point, b: Point, r: float, fill: Tuple[int, ...]) -> None:
        self.draw.line([a, b], fill=fill, width=max(1, round(2 * r)))
        for q in (a, b):
            self.draw.ellipse([q[0] - r, q[1] - r, q[0] + r, q[1] + r], fill=fill)

    def limb(self, p0: Point, p1: Point, radius: float, colour: Sequence[float]) -> None:
        """A capsule with a darker rim and a lit core shifted towards the light: reads as a
        rounded arm or leg once filtered down."""
        a, b, r = self._xy(p0), self._xy(p1), radius * self.scale
        width, height = self.image.size
        if min(a[1], b[1]) - r > height or max(a[0], b[0]) + r < 0 or min(a[0], b[0]) - r > width:
            return  # off the crop (legs below a torso crop, mostly)
        shift = self.side_light * 0.35 * r
        if r < 4:  # under ~2 output pixels the shading would not show: one flat tone
            self._capsule(a, b, r, self._fill(colour, 0.8))
        else:
            self._capsule(a, b, r, self._fill(colour, 0.62))
            core = ((a[0] + shift, a[1]), (b[0] + shift, b[1]))
            self._capsule(core[0], core[1], 0.55 * r, self._fill(colour, 1.0))
        self.empty = False

    def ellipse(
        self, centre: Point, rx: float, ry: float, colour: Sequence[float], shade: float = 1.0
    ) -> None:
        x, y = self._xy(centre)
        rx, ry = rx * self.scale, ry * self.scale
        self.draw.ellipse([x - rx, y - ry, x + rx, y + ry], fill=self._fill(colour, shade))
        self.empty = False

    def chord(
        self, centre: Point, rx: float, ry: float, start: float, end: float, colour: Sequence[float]
    ) -> None:
        x, y = self._xy(centre)
        rx, ry = rx * self.scale, ry * self.scale
        self.draw.chord([x - rx, y - ry, x + rx, y + ry], start, end, fill=self._fill(colour, 1.0))

    def polygon(self, points: Sequence[Point], colour: Sequence[float], shade: float = 1.0) -> None:
        self.draw.polygon([self._xy(p) for p in points], fill=self._fill(colour, shade))
        self.empty = False

    def text(
        self,
        centre: Point,
        text: str,
        height: float,
        colour: Sequence[float],
        font: ImageFont.FreeTypeFont,
    ) -> None:
        """Flat print `height` body units tall, centred: another player's number."""
        pixels = height * self.scale
        if pixels < 2:
            return
        box = font.getbbox(text)
        mask = Image.new("L", (int(box[2] - box[0]) + 2, int(box[3] - box[1]) + 2))
        ImageDraw.Draw(mask).text((1 - box[0], 1 - box[1]), text, font=font, fill=255)
        size = (max(1, round(mask.size[0] * pixels / mask.size[1])), max(1, round(pixels)))
        mask = mask.resize(size, Image.Resampling.BILINEAR)
        x, y = self._xy(centre)
        corner = (round(x - size[0] / 2), round(y - size[1] / 2))
        self.image.paste(self._fill(colour, 0.9), corner, mask)
        self.empty = False

    def onto(self, canvas: Canvas) -> None:
        """Composite over the canvas; in front, whatever it covers hides number ink.

        Pillow's reduce() averages RGBA premultiplied, so edges come out anti-aliased.
        """
        if self.empty:
            return
        pixels = np.asarray(self.image.reduce(self.SS), np.float32)
        if self.image.mode == "RGB":
            canvas.rgb[...] = pixels
            return
        alpha = pixels[..., 3] * np.float32(1 / 255)
        canvas.rgb += (pixels[..., :3] - canvas.rgb) * alpha[..., None]
        canvas.ink *= 1 - alpha
