"""Preprocessing, torch side: the training twin of `core.preprocess`.

Geometry and sharpening are the runtime's own Pillow code (`resize_pad`), so the two sides
cannot drift apart there; only "to tensor + normalise" is done in torch here. A test holds
this equal to `core.preprocess.preprocess_frame` to 1e-5.
"""

import torch
import torchvision.transforms.v2.functional as F
from PIL import Image

from ..core.preprocess import PreprocessConfig


def to_input(canvas: Image.Image, cfg: PreprocessConfig) -> torch.Tensor:
    """An already resized+padded RGB image -> 3xHxW float32, (x - mean) / std."""
    pixels = F.to_dtype(F.pil_to_tensor(canvas), torch.float32, scale=False)
    return F.normalize(pixels, mean=list(cfg.mean), std=list(cfg.std))
