"""Train-time augmentation with Project B's settings (see PRIOR-WORK.md).

Colour jitter is drawn once per sequence (one camera, one jersey), rotation/blur/noise per
frame (they vary from frame to frame in real footage). No horizontal flip: digits are not
symmetric. All randomness comes from the numpy Generator the caller passes, so a sample is a
pure function of (seed, epoch, index) whatever process or DataLoader worker draws it.
"""

from dataclasses import dataclass
from typing import Tuple

import numpy as np
import torch
import torchvision.transforms.v2.functional as F
from PIL import Image, ImageFilter
from torchvision.transforms import InterpolationMode

from ..core.preprocess import PreprocessConfig

Range = Tuple[float, float]


@dataclass(frozen=True)
class AugmentConfig:
    """Ranges are inclusive; noise std is in [0,1] pixel units (0.01 = 2.55 grey levels)."""

    enabled: bool = True
    brightness: Range = (0.8, 1.2)
    contrast: Range = (0.8, 1.2)
    saturation: Range = (0.8, 1.2)
    rotation_deg: float = 5.0
    blur_p: float = 0.3
    blur_radius: Range = (1.0, 2.0)
    noise_p: float = 0.2
    noise_std: Range = (0.01, 0.03)


@dataclass(frozen=True)
class ColourJitter:
    """Multiplicative factors, drawn once per sequence."""

    brightness: float
    contrast: float
    saturation: float


def draw_colour(cfg: AugmentConfig, rng: np.random.Generator) -> ColourJitter:
    return ColourJitter(brightness=float(rng.uniform(*cfg.brightness)),
                        contrast=float(rng.uniform(*cfg.contrast)),
                        saturation=float(rng.uniform(*cfg.saturation)))


def augment_image(img: Image.Image, cfg: AugmentConfig, colour: ColourJitter,
                  rng: np.random.Generator, *, fill: int) -> Image.Image:
    """Colour, rotation and blur on the original crop, before resize_pad.

    Rotated-in corners are filled with `fill` (the padding grey), so they look like padding.
    Blur uses Pillow's GaussianBlur, whose `radius` is the Gaussian's standard deviation:
    Project B's "radius 1-2" is in exactly these units.
    """
    img = F.adjust_brightness(img, colour.brightness)
    img = F.adjust_contrast(img, colour.contrast)
    img = F.adjust_saturation(img, colour.saturation)
    angle = float(rng.uniform(-cfg.rotation_deg, cfg.rotation_deg))
    if angle:
        img = F.rotate(img, angle, interpolation=InterpolationMode.BILINEAR, fill=[fill] * 3)
    if rng.random() < cfg.blur_p:
        img = img.filter(ImageFilter.GaussianBlur(float(rng.uniform(*cfg.blur_radius))))
    return img


def add_noise(x: torch.Tensor, cfg: AugmentConfig, preprocess: PreprocessConfig,
              rng: np.random.Generator) -> torch.Tensor:
    """Gaussian noise on a normalised 3xHxW input, with p = cfg.noise_p.

    std is drawn in [0,1] pixel units and scaled by 255/std per channel: the same as adding it
    before normalisation. The result is clipped to the normalised image of [0,255], like
    torchvision's gaussian_noise(clip=True). Not that op itself: it draws from torch's global
    RNG, which would make samples depend on the worker and disturb the training RNG.
    """
    if rng.random() >= cfg.noise_p:
        return x
    sigma = float(rng.uniform(*cfg.noise_std))
    noise = torch.from_numpy(rng.standard_normal(x.shape, dtype=np.float32))
    std = torch.tensor(preprocess.std, dtype=torch.float32).view(3, 1, 1)
    mean = torch.tensor(preprocess.mean, dtype=torch.float32).view(3, 1, 1)
    noisy = x + noise * (sigma * 255.0 / std)
    return torch.clamp(noisy, (0.0 - mean) / std, (255.0 - mean) / std)
