"""Eval-time frame preprocessing in numpy + Pillow (the torch-free side).

Training has its own torch implementation (`jersey_edge.data.transforms`); a test holds the
two equal. Geometry and sharpening are done in Pillow on both sides so they match exactly;
only the final normalisation differs in library.
"""

import os
import struct
import threading
import zlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple, TypeVar, Union

import numpy as np
from PIL import Image, ImageEnhance

from .errors import InputError

Frame = Union[str, Path, Image.Image, np.ndarray]
Item = TypeVar("Item")

# Refuse decompression bombs well before Pillow's own (much larger) limit: a player crop is
# a few hundred pixels wide, a 20000x20000 "frame" is an attack or a mistake.
MAX_FRAME_PIXELS = 4096 * 4096

# The only decoders a frame file may reach, whatever its bytes claim to be.
FRAME_FORMATS = ("JPEG", "PNG")

# What opening or decoding a broken or hostile file raises: Pillow's plugins use all of
# these (SyntaxError from a broken PNG chunk, struct.error from a short header, ...).
DECODE_ERRORS = (OSError, ValueError, SyntaxError, EOFError, IndexError, NotImplementedError,
                 struct.error, zlib.error, Image.DecompressionBombError)

# Modes whose alpha must be laid on the pad value, not dropped.
ALPHA_MODES = ("RGBA", "RGBa", "LA", "La", "PA")

# Frames of one sequence are decoded in parallel (Pillow and numpy release the GIL), by at
# most this many threads: decoding is a few hundred microseconds a frame, so more threads
# than cores only add switching.
MAX_DECODE_THREADS = 4

Size = Tuple[int, int]  # (width, height), Pillow's order

# How the colour channels of an HxWx3 (or HxWx4) array are ordered. Files and PIL images are
# RGB by definition; OpenCV, Ultralytics and supervision hand BGR arrays.
CHANNEL_ORDERS = ("rgb", "bgr")


@dataclass(frozen=True)
class PreprocessConfig:
    """How a crop becomes a network input. Travels in checkpoints and manifest.json.

    mean/std are in 0-255 pixel units: the TF-ported EfficientNet-Lite0 weights expect
    (x - 127) / 128.
    """

    height: int = 160
    width: int = 96
    pad_value: int = 128
    sharpness: float = 1.1
    mean: Tuple[float, float, float] = (127.0, 127.0, 127.0)
    std: Tuple[float, float, float] = (128.0, 128.0, 128.0)

    def to_dict(self) -> Dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Dict[str, Any]) -> "PreprocessConfig":
        return cls(
            height=int(data["height"]),
            width=int(data["width"]),
            pad_value=int(data["pad_value"]),
            sharpness=float(data["sharpness"]),
            mean=tuple(float(v) for v in data["mean"]),  # type: ignore[arg-type]
            std=tuple(float(v) for v in data["std"]),  # type: ignore[arg-type]
        )


def check_channel_order(channel_order: object) -> str:
    """`channel_order` if it is one of CHANNEL_ORDERS, else InputError naming them."""
    if not isinstance(channel_order, str) or channel_order not in CHANNEL_ORDERS:
        raise InputError(f"channel_order must be one of {', '.join(map(repr, CHANNEL_ORDERS))}"
                         f" (OpenCV, Ultralytics and supervision give 'bgr'), got "
                         f"{channel_order!r}")
    return channel_order


def load_rgb(frame: Frame, *, pad_value: int = PreprocessConfig.pad_value,
             fit: Optional[Size] = None, channel_order: str = "rgb") -> Image.Image:
    """Any supported frame -> 8-bit RGB PIL image, or InputError saying why not.

    `fit` (width, height): the box the image will be resized into. A JPEG file much larger
    than that is then decoded at 1/2, 1/4 or 1/8 scale in the DCT domain (Pillow's draft
    mode), never below the size the resize needs: a 4K crop costs what a small one costs.

    Paths, arrays and PIL images all end in `_to_rgb`, so one rule holds for every kind:
    the pixel limit, 16-bit and float scaling, and alpha laid on `pad_value` (the grey that
    also pads the crop, so a transparent pixel looks like padding).

    Arrays are HxW, HxWx3 (RGB, or BGR with channel_order="bgr") or HxWx4 (RGBA, or BGRA)
    of uint8 (0-255), uint16 (0-65535: the high byte is kept) or float (0-1, scaled by 255;
    NaN, infinity and values outside are refused). PIL images of 16-bit, 32-bit integer or
    float pixels follow the same rule. `channel_order` concerns arrays only.
    """
    check_channel_order(channel_order)
    if isinstance(frame, (str, Path)):
        return _open_path(Path(frame), pad_value, fit)
    if isinstance(frame, np.ndarray):
        return _to_rgb(_in_rgb_order(frame, channel_order), "frame array", pad_value)
    if isinstance(frame, Image.Image):
        return _to_rgb(frame, "frame image", pad_value)
    raise InputError(
        f"unsupported frame type {type(frame).__name__}: use a path, a PIL image "
        "or a numpy array (HxW, HxWx3 or HxWx4)"
    )


def _in_rgb_order(frame: np.ndarray, channel_order: str) -> np.ndarray:
    """A BGR(A) colour array with its colour channels put in RGB order; anything else (RGB,
    grey, a shape `_to_rgb` will refuse) as it is."""
    if channel_order == "rgb" or frame.ndim != 3 or frame.shape[2] not in (3, 4):
        return frame
    return frame[..., [2, 1, 0, 3][:frame.shape[2]]]


def open_frame(path: Path) -> Image.Image:
    """Open (not decode) a frame file as JPEG or PNG only, whatever its content says.

    Pillow otherwise picks a decoder by content: a TIFF, DDS, WebP or EPS (Ghostscript!)
    named .jpg would be decoded. Raises what Pillow raises; callers catch DECODE_ERRORS.
    """
    return Image.open(path, formats=FRAME_FORMATS)


def _open_path(path: Path, pad_value: int, fit: Optional[Size]) -> Image.Image:
    try:
        with open_frame(path) as img:
            check_pixel_limit(img.width, img.height, str(path))
            if fit is not None and img.format == "JPEG":
                img.draft(img.mode, fitted_size(img.width, img.height, fit))
            img.load()
            return _to_rgb(img, str(path), pad_value)
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except DECODE_ERRORS as exc:
        raise InputError(f"{path}: not a readable image ({exc})") from None


def check_pixel_limit(width: int, height: int, where: str) -> None:
    if width * height > MAX_FRAME_PIXELS:
        raise InputError(
            f"{where}: {width}x{height} is too large for a player crop "
            f"(limit {MAX_FRAME_PIXELS} pixels); crop or downscale it first"
        )


def _to_rgb(frame: Union[Image.Image, np.ndarray], where: str, pad_value: int) -> Image.Image:
    """The one conversion every frame kind goes through: size checks, 8 bits, alpha, RGB."""
    height, width = _frame_size(frame, where)
    if width < 1 or height < 1:
        raise InputError(f"{where}: empty image ({width}x{height})")
    check_pixel_limit(width, height, where)
    img = _to_8_bit(frame, where)
    if img.mode in ALPHA_MODES or "transparency" in img.info:
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (pad_value, pad_value, pad_value, 255))
        img = Image.alpha_composite(background, rgba)
    try:
        return img.convert("RGB")
    except ValueError as exc:
        raise InputError(f"{where}: cannot convert {img.mode} pixels to RGB ({exc})") from None


def _frame_size(frame: Union[Image.Image, np.ndarray], where: str) -> Tuple[int, int]:
    if isinstance(frame, Image.Image):
        return frame.height, frame.width
    if frame.ndim not in (2, 3) or (frame.ndim == 3 and frame.shape[2] not in (3, 4)):
        raise InputError(f"{where}: arrays must be HxW, HxWx3 or HxWx4, got shape {frame.shape}")
    return frame.shape[0], frame.shape[1]


def _to_8_bit(frame: Union[Image.Image, np.ndarray], where: str) -> Image.Image:
    """Arrays, and PIL images of more than 8 bits per channel, as an 8-bit PIL image."""
    if isinstance(frame, np.ndarray):
        return Image.fromarray(_array_to_8_bit(frame, where))
    if frame.mode == "I":  # 32-bit ints: how older Pillow opens 16-bit PNGs
        return Image.fromarray(_array_to_8_bit(_int32_as_16_bit(frame, where), where))
    if frame.mode.startswith("I;16") or frame.mode == "F":
        return Image.fromarray(_array_to_8_bit(np.asarray(frame), where))
    return frame


def _int32_as_16_bit(img: Image.Image, where: str) -> np.ndarray:
    arr = np.asarray(img)
    if arr.min() < 0 or arr.max() > 65535:
        raise InputError(f"{where}: 32-bit integer pixels are read as 16-bit and must be in "
                         f"0-65535, got {arr.min()}-{arr.max()}")
    return arr.astype(np.uint16)


def _array_to_8_bit(arr: np.ndarray, where: str) -> np.ndarray:
    """uint8 as is; uint16 keeps its high byte (65535 -> 255, 256 -> 1); floats in 0-1 are
    scaled by 255 and rounded. Anything else would be a guess, so it is refused."""
    if arr.dtype == np.uint8:
        return np.ascontiguousarray(arr)
    if arr.dtype.kind == "u" and arr.dtype.itemsize == 2:  # either byte order
        return (arr >> 8).astype(np.uint8)
    if np.issubdtype(arr.dtype, np.floating):
        return _float_to_8_bit(arr.astype(np.float64), where)
    raise InputError(f"{where}: pixels must be uint8 (0-255), uint16 (0-65535) or float (0-1),"
                     f" got dtype {arr.dtype}")


def _float_to_8_bit(arr: np.ndarray, where: str) -> np.ndarray:
    if not np.isfinite(arr).all():
        raise InputError(f"{where}: float pixels must be finite (found NaN or infinity)")
    if arr.min() < 0.0 or arr.max() > 1.0:
        raise InputError(f"{where}: float pixels must be in 0-1, got {arr.min():g}-"
                         f"{arr.max():g}; divide 0-255 data by 255 or pass uint8")
    return np.round(arr * 255.0).astype(np.uint8)


def fitted_size(width: int, height: int, box: Size) -> Size:
    """The keep-aspect size of a width x height image resized to fit in `box`."""
    scale = min(box[0] / width, box[1] / height)
    return (max(1, min(box[0], round(width * scale))),
            max(1, min(box[1], round(height * scale))))


def network_size(cfg: PreprocessConfig) -> Size:
    return cfg.width, cfg.height


def resize_pad(img: Image.Image, cfg: PreprocessConfig) -> Image.Image:
    """Keep-aspect bicubic resize into cfg.height x cfg.width, centred on grey, then sharpen."""
    new_w, new_h = fitted_size(img.width, img.height, network_size(cfg))
    resized = img.resize((new_w, new_h), Image.Resampling.BICUBIC)
    canvas = Image.new("RGB", (cfg.width, cfg.height), (cfg.pad_value,) * 3)
    canvas.paste(resized, ((cfg.width - new_w) // 2, (cfg.height - new_h) // 2))
    if cfg.sharpness != 1.0:
        canvas = ImageEnhance.Sharpness(canvas).enhance(cfg.sharpness)
    return canvas


def normalize(img: Image.Image, cfg: PreprocessConfig) -> np.ndarray:
    """HxWx3 uint8 image -> 3xHxW float32, (x - mean) / std per channel."""
    return normalize_pixels(np.asarray(img), cfg)


def normalize_pixels(pixels: np.ndarray, cfg: PreprocessConfig,
                     out: Optional[np.ndarray] = None) -> np.ndarray:
    """uint8 [..., H, W, 3] -> float32 [..., 3, H, W], (x - mean) / std per channel, written
    into `out` when given (no temporaries: one pass from the uint8 pixels)."""
    moved = np.moveaxis(pixels, -1, -3)
    if out is None:
        out = np.empty(moved.shape, np.float32)
    mean = np.asarray(cfg.mean, dtype=np.float32)[:, None, None]
    std = np.asarray(cfg.std, dtype=np.float32)[:, None, None]
    np.subtract(moved, mean, out=out, dtype=np.float32)
    np.divide(out, std, out=out)
    return out


def preprocess_frame(frame: Frame, cfg: PreprocessConfig, out: Optional[np.ndarray] = None,
                     channel_order: str = "rgb") -> np.ndarray:
    """One frame of any supported kind -> 3xHxW float32 network input (into `out` if given);
    `channel_order` says how an array's colour channels are ordered."""
    img = load_rgb(frame, pad_value=cfg.pad_value, fit=network_size(cfg),
                   channel_order=channel_order)
    return to_network_input(img, cfg, out)


def to_network_input(img: Image.Image, cfg: PreprocessConfig,
                     out: Optional[np.ndarray] = None) -> np.ndarray:
    """A decoded 8-bit RGB image -> 3xHxW float32: resize, pad, sharpen, normalise."""
    return normalize_pixels(np.asarray(resize_pad(img, cfg)), cfg, out)


def preprocess_frames(frames: Sequence[Frame], cfg: PreprocessConfig,
                      channel_order: str = "rgb") -> np.ndarray:
    """Frames -> NxCxHxW float32, decoded in parallel; a bad frame raises the InputError of
    the first bad one in sequence order, as a serial loop would. `channel_order`: how the
    colour channels of array frames are ordered ("rgb" or "bgr")."""
    check_channel_order(channel_order)
    if len(frames) == 0:
        raise InputError("a sequence needs at least one frame")
    out = np.empty((len(frames), 3, cfg.height, cfg.width), np.float32)
    if len(frames) == 1:
        preprocess_frame(frames[0], cfg, out[0], channel_order)
        return out
    list(_decode_pool().map(lambda i: preprocess_frame(frames[i], cfg, out[i], channel_order),
                            range(len(frames))))
    return out


def linspace_indices(num_frames: int, max_frames: int) -> List[int]:
    """Evenly spread indices: all frames when there are few, max_frames of them otherwise."""
    if num_frames <= max_frames:
        return list(range(num_frames))
    return [int(round(i)) for i in np.linspace(0, num_frames - 1, max_frames)]


def even_sample(frames: Sequence[Item], max_frames: int) -> List[Item]:
    """A sequence's frames as every side feeds them: at most max_frames, spread evenly.
    Training (evaluation), export, the runtime and bench sample through this."""
    return [frames[i] for i in linspace_indices(len(frames), max_frames)]


def preprocess_sequence(frames: Sequence[Frame], cfg: PreprocessConfig, max_frames: int,
                        channel_order: str = "rgb") -> np.ndarray:
    """One sequence -> [T<=max_frames,3,H,W]: sampled, then preprocessed."""
    return preprocess_frames(even_sample(frames, max_frames), cfg, channel_order)


_POOL: Optional[ThreadPoolExecutor] = None
_POOL_LOCK = threading.Lock()


def _forget_pool() -> None:
    """A forked child (a DataLoader worker) inherits the pool but not its threads."""
    global _POOL, _POOL_LOCK
    _POOL, _POOL_LOCK = None, threading.Lock()


os.register_at_fork(after_in_child=_forget_pool)


def _decode_pool() -> ThreadPoolExecutor:
    """One process-wide pool, started on first use: a pool per call would pay thread
    start-up on every sequence."""
    global _POOL
    with _POOL_LOCK:
        if _POOL is None:
            _POOL = ThreadPoolExecutor(max_workers=min(MAX_DECODE_THREADS, os.cpu_count() or 1),
                                       thread_name_prefix="jersey-edge-decode")
        return _POOL


__all__ = [
    "CHANNEL_ORDERS",
    "DECODE_ERRORS",
    "FRAME_FORMATS",
    "Frame",
    "PreprocessConfig",
    "check_channel_order",
    "fitted_size",
    "load_rgb",
    "network_size",
    "normalize",
    "normalize_pixels",
    "open_frame",
    "preprocess_frame",
    "preprocess_frames",
    "resize_pad",
    "to_network_input",
]
