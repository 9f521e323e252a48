from pathlib import Path
from typing import Dict

import numpy as np
import pytest
import torch
from PIL import Image

from jersey_edge.core.preprocess import (
    PreprocessConfig,
    load_rgb,
    network_size,
    preprocess_frame,
    resize_pad,
)
from jersey_edge.data.augment import AugmentConfig, ColourJitter, add_noise, augment_image
from jersey_edge.data.transforms import to_input

CONFIGS = [PreprocessConfig(), PreprocessConfig(height=192, width=96, sharpness=1.0,
                                                mean=(123.7, 116.3, 103.5),
                                                std=(58.4, 57.1, 57.4))]


@pytest.mark.parametrize("cfg", CONFIGS)
def test_torch_matches_numpy_runtime(odd_frames: Dict[str, Path], cfg: PreprocessConfig) -> None:
    for name, path in odd_frames.items():
        # decoded and resized as the dataset does unaugmented frames (draft mode for large JPEGs)
        torch_side = to_input(resize_pad(load_rgb(path, fit=network_size(cfg)), cfg), cfg)
        assert torch_side.dtype == torch.float32, name
        assert tuple(torch_side.shape) == (3, cfg.height, cfg.width), name
        numpy_side = preprocess_frame(path, cfg)
        assert np.abs(torch_side.numpy() - numpy_side).max() <= 1e-5, name


def test_padding_is_grey(odd_frames: Dict[str, Path]) -> None:
    cfg = PreprocessConfig()
    wide = to_input(resize_pad(load_rgb(odd_frames["wide"]), cfg), cfg)
    grey = (cfg.pad_value - cfg.mean[0]) / cfg.std[0]
    assert torch.allclose(wide[:, 0, :], torch.full((3, cfg.width), grey))


def crop() -> Image.Image:
    rng = np.random.default_rng(0)
    return Image.fromarray(rng.integers(0, 256, (60, 40, 3), dtype=np.uint8))


NEUTRAL = ColourJitter(1.0, 1.0, 1.0)


def test_neutral_augmentation_is_identity() -> None:
    cfg = AugmentConfig(rotation_deg=0.0, blur_p=0.0)
    out = augment_image(crop(), cfg, NEUTRAL, np.random.default_rng(0), fill=128)
    assert np.array_equal(np.asarray(out), np.asarray(crop()))


@pytest.mark.parametrize("cfg, colour", [
    (AugmentConfig(rotation_deg=0.0, blur_p=0.0), ColourJitter(1.2, 1.0, 1.0)),
    (AugmentConfig(rotation_deg=0.0, blur_p=0.0), ColourJitter(1.0, 0.8, 1.0)),
    (AugmentConfig(rotation_deg=0.0, blur_p=0.0), ColourJitter(1.0, 1.0, 0.8)),
    (AugmentConfig(rotation_deg=5.0, blur_p=0.0), NEUTRAL),
    (AugmentConfig(rotation_deg=0.0, blur_p=1.0), NEUTRAL),
])
def test_each_augmentation_changes_pixels(cfg: AugmentConfig, colour: ColourJitter) -> None:
    out = augment_image(crop(), cfg, colour, np.random.default_rng(1), fill=128)
    assert out.size == crop().size and out.mode == "RGB"
    assert not np.array_equal(np.asarray(out), np.asarray(crop()))


def test_noise_in_pixel_units_and_clipped() -> None:
    pre = PreprocessConfig()
    x = torch.zeros(3, pre.height, pre.width)
    assert add_noise(x, AugmentConfig(noise_p=0.0), pre, np.random.default_rng(0)) is x
    cfg = AugmentConfig(noise_p=1.0, noise_std=(0.02, 0.02))
    noisy = add_noise(x, cfg, pre, np.random.default_rng(0))
    # std 0.02 of the 0-255 range, expressed in normalised units (/128)
    assert noisy.std().item() == pytest.approx(0.02 * 255 / 128, rel=0.05)
    bright = torch.full_like(x, (255 - 127) / 128)
    assert add_noise(bright, cfg, pre, np.random.default_rng(0)).max().item() <= bright.max()
