"""Eval-time frame preprocessing in numpy + Pillow (the torch-free side).

Training has its own torch implementation (`jersey_edge.data.transforms`); a test holds the
two equal. Geometry and sharpening are done in Pillow on both sides so they match exactly;
only the final normalisation differs in library.
"""

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Dict, Sequence, Tuple, Union

import numpy as np
from PIL import Image, ImageEnhance

from .errors import InputError

Frame = Union[str, Path, Image.Image, np.ndarray]

# Refuse decompression bombs well before Pillow's own (much larger) limit: a player crop is
# a few hundred pixels wide, a 20000x20000 "frame" is an attack or a mistake.
MAX_FRAME_PIXELS = 4096 * 4096


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


def load_rgb(frame: Frame) -> Image.Image:
    """Any supported frame -> 8-bit RGB PIL image, or InputError saying why not."""
    if isinstance(frame, Image.Image):
        return _to_rgb(frame, "image")
    if isinstance(frame, np.ndarray):
        return _array_to_rgb(frame)
    if isinstance(frame, (str, Path)):
        return _open_path(Path(frame))
    raise InputError(
        f"unsupported frame type {type(frame).__name__}: use a path, a PIL image "
        "or an HxWx3 uint8 array"
    )


def _open_path(path: Path) -> Image.Image:
    try:
        with Image.open(path) as img:
            if img.width * img.height > MAX_FRAME_PIXELS:
                raise InputError(
                    f"{path}: {img.width}x{img.height} is too large for a player crop "
                    f"(limit {MAX_FRAME_PIXELS} pixels)"
                )
            img.load()
            return _to_rgb(img, str(path))
    except InputError:
        raise
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        raise InputError(f"{path}: not a readable image ({exc})") from None


def _to_rgb(img: Image.Image, where: str) -> Image.Image:
    if img.width < 1 or img.height < 1:
        raise InputError(f"{where}: empty image")
    if img.mode in ("I;16", "I;16B", "I;16L", "I"):
        # 16/32-bit greyscale: scale to 8 bits instead of letting Pillow clip at 255.
        arr = np.asarray(img, dtype=np.float64)
        peak = max(float(arr.max()), 1.0)
        scale = 255.0 / (65535.0 if peak > 255 else 255.0)
        img = Image.fromarray(np.clip(arr * scale, 0, 255).astype(np.uint8), mode="L")
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (128, 128, 128, 255))
        img = Image.alpha_composite(background, rgba)
    return img.convert("RGB")


def _array_to_rgb(arr: np.ndarray) -> Image.Image:
    if arr.dtype != np.uint8:
        raise InputError(f"frame arrays must be uint8 HxWx3, got dtype {arr.dtype}")
    if arr.ndim == 2:
        arr = np.stack([arr] * 3, axis=-1)
    if arr.ndim != 3 or arr.shape[2] not in (3, 4) or arr.shape[0] < 1 or arr.shape[1] < 1:
        raise InputError(f"frame arrays must be HxWx3 uint8, got shape {arr.shape}")
    return Image.fromarray(np.ascontiguousarray(arr[:, :, :3]), mode="RGB")


def resize_pad(img: Image.Image, cfg: PreprocessConfig) -> Image.Image:
    """Keep-aspect bicubic resize into cfg.height x cfg.width, centred on grey, then sharpen."""
    scale = min(cfg.width / img.width, cfg.height / img.height)
    new_w = max(1, min(cfg.width, round(img.width * scale)))
    new_h = max(1, min(cfg.height, round(img.height * scale)))
    resized = img.resize((new_w, new_h), Image.BICUBIC)
    canvas = Image.new("RGB", (cfg.width, cfg.height), (cfg.pad_value,) * 3)
    canvas.paste(resized, ((cfg.width - new_w) // 2, (cfg.height - new_h) // 2))
    if cfg.sharpness != 1.0:
        canvas = ImageEnhance.Sharpness(canvas).enhance(cfg.sharpness)
    return canvas


def normalize(img: Image.Image, cfg: PreprocessConfig) -> np.ndarray:
    """HxWx3 uint8 image -> 3xHxW float32, (x - mean) / std per channel."""
    arr = np.asarray(img, dtype=np.float32)
    mean = np.asarray(cfg.mean, dtype=np.float32)
    std = np.asarray(cfg.std, dtype=np.float32)
    return np.ascontiguousarray(((arr - mean) / std).transpose(2, 0, 1))


def preprocess_frame(frame: Frame, cfg: PreprocessConfig) -> np.ndarray:
    """One frame of any supported kind -> 3xHxW float32 network input."""
    return normalize(resize_pad(load_rgb(frame), cfg), cfg)


def preprocess_frames(frames: Sequence[Frame], cfg: PreprocessConfig) -> np.ndarray:
    """Frames -> NxCxHxW float32."""
    if len(frames) == 0:
        raise InputError("a sequence needs at least one frame")
    return np.stack([preprocess_frame(f, cfg) for f in frames])


__all__ = [
    "Frame",
    "PreprocessConfig",
    "load_rgb",
    "normalize",
    "preprocess_frame",
    "preprocess_frames",
    "resize_pad",
]
