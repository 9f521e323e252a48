"""Drawing one frame: background, then the player back to front, then whatever passes by.

The shirt is an elliptic cylinder turned by `theta`; each screen column maps back to a point
on the body (angle `t` around the torso) where the print texture, the kit pattern, folds
and shading are looked up. The returned ink areas say how much of each digit stayed visible.
"""

import io
import math
from dataclasses import dataclass
from typing import Optional, Tuple

import numpy as np
from PIL import Image, ImageFilter

from .body import DEPTH, arm_points, draw_arm, draw_head, draw_lower_body, draw_occluder
from .canvas import Canvas, Layer
from .motion import FrameParams, SequenceMotion
from .printing import ONES, TENS, TEX_U, TEX_Y, PrintTexture
from .style import Kit

NECK_Y, SHOULDER_Y, HEM_Y = -1.22, -0.95, 1.05
FOLD_GRID = (48, 96)  # fold map cells over (Y in TEX_Y, t in [-pi, pi))
NEAR_ARM = 0.25  # shoulder depth beyond which an arm swings in front of the shirt


@dataclass(frozen=True)
class Scene:
    """What stays fixed through a sequence: the player, the print at this size, folds, light."""

    kit: Kit
    tex: PrintTexture
    folds: np.ndarray  # shade multiplier over FOLD_GRID
    light: Tuple[float, float]


@dataclass(frozen=True)
class Drawn:
    """A rendered frame (float RGB) and the visible ink of each digit in body units^2."""

    rgb: np.ndarray
    ink: Tuple[float, float]  # (tens, ones)


def half_width(y: np.ndarray) -> np.ndarray:
    """Torso silhouette: sloping shoulders from the collar, slightly narrower at the waist."""
    shoulders = 0.36 + 0.64 * np.sqrt(np.clip((y - NECK_Y) / (SHOULDER_Y - NECK_Y), 0, 1))
    waist = 1.0 - 0.1 * np.clip((y - SHOULDER_Y) / 1.5, 0, 1)
    return np.where(y < SHOULDER_Y, shoulders, waist)


def predicted_shown(motion: SequenceMotion, u: float) -> np.ndarray:
    """Per frame, the fraction of a print point at lateral offset `u` a frame would show,
    from geometry alone (no pixels): cheap enough to reject hopeless motions up front.

    Screen x of body angle t is hw (cos(theta) sin(t) + DEPTH sin(theta) cos(t)), so print
    there is squashed by cos(theta) - DEPTH sin(theta) tan(t), hidden once it rotates past
    the silhouette, and counted as gone under a passing body or ball.
    """
    theta = np.array([f.theta for f in motion.frames])
    hw = float(half_width(np.asarray(0.0, np.float32)))
    t = math.asin(max(-0.99, min(0.99, u / hw)))
    psi = np.arctan2(DEPTH * np.sin(theta), np.cos(theta))
    squash = np.cos(theta) - DEPTH * np.sin(theta) * math.tan(t)
    shown = np.where(np.abs(t + psi) < np.pi / 2, np.clip(squash, 0, 1), 0.0)
    screen_x = hw * (np.cos(theta) * math.sin(t) + DEPTH * np.sin(theta) * math.cos(t))
    for f, frame in enumerate(motion.frames):
        occ = frame.occluder
        if occ is not None and occ.kind != "arm" and abs(screen_x[f] - occ.u) < occ.size:
            shown[f] = 0.0
    return shown


def make_scene(kit: Kit, tex: PrintTexture, motion: SequenceMotion, res: float) -> Scene:
    """Precompute per sequence what every frame would otherwise recompute (sines are slow)."""
    y = np.linspace(TEX_Y[0], TEX_Y[1], FOLD_GRID[0], dtype=np.float32)[:, None]
    t = np.linspace(-np.pi, np.pi, FOLD_GRID[1], endpoint=False, dtype=np.float32)[None, :]
    folds = np.ones(FOLD_GRID, np.float32)
    for amp, freq, angle, phase in motion.folds:
        # integer cycles around the body keep the map seamless where t wraps
        wave = 0.5 + 0.5 * np.sin(
            round(freq) * t * math.cos(angle) + freq * y * math.sin(angle) + phase
        )
        folds *= 1 - amp * wave * wave
    return Scene(kit, tex.resampled(res), folds, motion.light)


def _secondary(kit: Kit, t: np.ndarray, y: np.ndarray) -> Optional[np.ndarray]:
    """Where the kit shows its secondary colour, in body-fixed coordinates (None: nowhere)."""
    if kit.pattern == "stripes":
        return np.floor(t * 0.8 / kit.stripe + 0.5) % 2 == 1
    if kit.pattern == "hoops":
        return np.floor((y + 2) / kit.stripe) % 2 == 1
    if kit.pattern == "panels":  # side panels, between back and front
        return (np.abs(t) > 1.0) & (np.abs(t) < 2.1)
    if kit.pattern == "halves":
        return t > 0
    return None


@dataclass(frozen=True)
class _Surface:
    """Per pixel of the shirt's window: coverage and where on the body it looks."""

    alpha: np.ndarray  # silhouette coverage 0-1
    hw: np.ndarray  # torso half-width of the row
    t: np.ndarray  # angle around the torso, 0 = middle of the back, in [-pi, pi)
    sin_t: np.ndarray
    cos_t: np.ndarray


def _surface(canvas: Canvas, win, theta: float) -> _Surface:
    """Invert the projection: screen x = C sin(t + psi) on an elliptic torso turned by theta,
    so t = asin(x / C) - psi, whose sine and cosine follow without more trigonometry."""
    cos_th, sin_th = math.cos(theta), math.sin(theta)
    width = math.hypot(cos_th, DEPTH * sin_th)
    X, Y = win[2], win[3]
    hw = half_width(Y)
    x = X / (hw * width)
    alpha = canvas.cover(
        np.maximum((np.abs(x) - 1) * hw * width, np.maximum(NECK_Y - Y, Y - HEM_Y))
    )
    psi = math.atan2(DEPTH * sin_th, cos_th)
    x = np.clip(x, -1, 1)
    along = np.sqrt(1 - x * x)
    sin_t = x * math.cos(psi) - along * math.sin(psi)
    cos_t = along * math.cos(psi) + x * math.sin(psi)
    t = (np.arcsin(x) + (math.pi - psi)) % (2 * math.pi) - math.pi
    return _Surface(alpha, hw, t, sin_t, cos_t)


def _folds(scene: Scene, frame: FrameParams, s: _Surface, Y: np.ndarray) -> np.ndarray:
    """Cloth folds fixed to the body (they turn with it), drifting a little per frame."""
    rows, cols = FOLD_GRID
    col = ((s.t + math.pi) * (cols / (2 * math.pi)) + frame.fold * 3).astype(np.int32) % cols
    row = ((Y - TEX_Y[0]) * (rows / (TEX_Y[1] - TEX_Y[0]))).astype(np.int32)
    return scene.folds[np.clip(row, 0, rows - 1), col]


def _shading(scene: Scene, frame: FrameParams, s: _Surface, fold: np.ndarray) -> np.ndarray:
    """Lambert shading of the turned torso, a gloss highlight, darkened in the folds."""
    cos_th, sin_th = math.cos(frame.theta), math.sin(frame.theta)
    nx = DEPTH * s.sin_t
    inv = 1 / np.sqrt(nx * nx + s.cos_t * s.cos_t)
    lx, lz = scene.light
    facing = (nx * cos_th + s.cos_t * sin_th) * lx + (s.cos_t * cos_th - nx * sin_th) * lz
    diffuse = np.clip(facing * inv, 0, 1)
    shade = (0.38 + 0.72 * diffuse) * fold
    if scene.kit.gloss > 0.05:
        d4 = (diffuse * diffuse) ** 2
        shade += scene.kit.gloss * d4 * d4 * d4
    return shade


def _texels(tex: PrintTexture, s: _Surface, Y: np.ndarray, wobble: np.ndarray) -> np.ndarray:
    """Print texels [h, w, 5] under each pixel: the back print where cos(t) > 0, else front."""
    back = s.cos_t > 0
    side = tex.side_width
    u = np.where(back, s.sin_t, -s.sin_t) * s.hw + wobble
    col = np.clip(((u + TEX_U) * tex.res).astype(np.int32), 0, side - 1) + np.where(back, 0, side)
    row = ((Y - TEX_Y[0] + wobble) * tex.res).astype(np.int32)
    return tex.planes[np.clip(row, 0, tex.planes.shape[0] - 1), col]


def draw_shirt(canvas: Canvas, scene: Scene, frame: FrameParams) -> None:
    width = math.hypot(math.cos(frame.theta), DEPTH * math.sin(frame.theta))
    win = canvas.window(-1.05 * width, 1.05 * width, NECK_Y, HEM_Y)
    if win is None:
        return
    kit, Y = scene.kit, win[3]
    surface = _surface(canvas, win, frame.theta)
    fold = _folds(scene, frame, surface, Y)
    shade = _shading(scene, frame, surface, fold)
    primary = np.asarray(kit.primary, np.float32)
    mask = _secondary(kit, surface.t, Y)
    if mask is not None:
        primary = primary + mask[..., None] * (np.asarray(kit.secondary, np.float32) - primary)
    base = np.broadcast_to(primary, surface.alpha.shape + (3,)).copy()
    base[: int(np.searchsorted(Y[:, 0], NECK_Y + 0.045))] = kit.trim  # collar
    texel = _texels(scene.tex, surface, Y, wobble=(1 - fold) * 0.25)
    ink = texel[..., 3]
    shirt = (base * (1 - ink[..., None]) + texel[..., :3]) * shade[..., None]
    canvas.paint(win, surface.alpha, shirt)
    rows, cols = win[0], win[1]
    digit = texel[..., 4]
    canvas.ink[rows, cols] += surface.alpha * ink * (digit > 0)
    marked = (surface.alpha > 0.5) & (digit > 0)
    canvas.digit[rows, cols] = np.where(marked, digit, canvas.digit[rows, cols])


def draw_frame(scene: Scene, frame: FrameParams, background: np.ndarray) -> Drawn:
    """Compose one frame over `background` (already cropped to the frame, modified in place)."""
    canvas = Canvas(background, frame.cx, frame.cy, frame.scale)
    kit = scene.kit
    light, side_light = float(0.7 + 0.3 * scene.light[1]), scene.light[0]
    behind = Layer(canvas, light, side_light, behind=True)
    draw_lower_body(behind, kit, frame)
    draw_head(behind, kit, frame)
    arms = [arm_points(side, frame) for side in (-1, 1)]
    for points, depth in arms:
        if depth <= NEAR_ARM:
            draw_arm(behind, kit, points)
    behind.onto(canvas)
    draw_shirt(canvas, scene, frame)
    near = [points for points, depth in arms if depth > NEAR_ARM]
    if near or frame.occluder is not None:  # most frames have nothing in front of the shirt
        front = Layer(canvas, light, side_light, behind=False)
        for points in near:
            draw_arm(front, kit, points)
        if frame.occluder is not None:
            draw_occluder(front, frame.occluder)
        front.onto(canvas)
    pixel_area = 1.0 / canvas.scale**2
    ink = [float(canvas.ink[canvas.digit == d].sum() * pixel_area) for d in (TENS, ONES)]
    return Drawn(canvas.rgb, (ink[0], ink[1]))


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
