"""The fast decode path: draft-mode JPEG decoding, one-pass normalisation, parallel frames.
Each must give the network what the plain path gives it (or, for draft mode, what an
antialiased downscale gives it)."""

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from jersey_edge.core.errors import InputError
from jersey_edge.core.preprocess import (
    PreprocessConfig,
    fitted_size,
    load_rgb,
    network_size,
    normalize,
    normalize_pixels,
    preprocess_frame,
    preprocess_frames,
)

CFG = PreprocessConfig(height=64, width=32)


def smooth_jpeg(path: Path, size) -> Path:
    """A smooth colour ramp (so downscaling methods agree closely), W x H."""
    w, h = size
    y, x = np.mgrid[0:h, 0:w]
    pixels = np.stack([255 * x / w, 255 * y / h, 128 + 0 * x], axis=-1).astype(np.uint8)
    Image.fromarray(pixels).save(path, quality=95)
    return path


def test_fitted_size_keeps_the_aspect_inside_the_box():
    assert fitted_size(100, 400, (32, 64)) == (16, 64)
    assert fitted_size(400, 100, (32, 64)) == (32, 8)
    assert fitted_size(1, 1000, (32, 64)) == (1, 64)


def test_a_large_jpeg_is_decoded_at_reduced_scale_but_never_below_the_resize(tmp_path):
    path = smooth_jpeg(tmp_path / "big.jpg", (512, 1024))
    drafted = load_rgb(path, fit=network_size(CFG))
    assert drafted.size == (64, 128)  # 1/8 scale: still 2x the 32x64 the resize needs
    assert load_rgb(path).size == (512, 1024)
    plain = normalize(load_rgb(path).resize((32, 64), Image.Resampling.BICUBIC), CFG)
    fast = normalize(drafted.resize((32, 64), Image.Resampling.BICUBIC), CFG)
    assert np.abs(fast - plain).mean() < 2 / 128  # within 2 grey levels on average


def test_small_jpegs_and_pngs_decode_exactly_as_without_fit(tmp_path):
    jpg = smooth_jpeg(tmp_path / "small.jpg", (40, 70))
    png = tmp_path / "big.png"
    Image.open(smooth_jpeg(tmp_path / "src.jpg", (512, 1024))).save(png)
    for path in (jpg, png):
        assert np.array_equal(np.asarray(load_rgb(path, fit=network_size(CFG))),
                              np.asarray(load_rgb(path)))


def test_one_pass_normalisation_is_bit_identical_to_the_reference_formula():
    pixels = np.random.default_rng(0).integers(0, 256, (2, 64, 32, 3), dtype=np.uint8)
    cfg = PreprocessConfig(height=64, width=32, mean=(120.0, 110.0, 100.0),
                           std=(60.0, 61.0, 62.0))
    reference = (pixels.astype(np.float32) - np.float32(cfg.mean)) / np.float32(cfg.std)
    out = np.full((2, 3, 64, 32), np.nan, np.float32)
    assert normalize_pixels(pixels, cfg, out) is out
    assert np.array_equal(out, reference.transpose(0, 3, 1, 2))


def test_parallel_preprocessing_equals_frame_by_frame(tmp_path):
    frames = [smooth_jpeg(tmp_path / f"{i}.jpg", (30 + 11 * i, 90 + 3 * i)) for i in range(9)]
    batch = preprocess_frames(frames, CFG)
    assert batch.shape == (9, 3, 64, 32) and batch.dtype == np.float32
    assert np.array_equal(batch, np.stack([preprocess_frame(f, CFG) for f in frames]))


def test_the_first_bad_frame_in_order_is_the_one_reported(tmp_path):
    frames = [smooth_jpeg(tmp_path / f"{i}.jpg", (30, 60)) for i in range(6)]
    for i in (2, 4):
        frames[i] = tmp_path / f"missing{i}.jpg"
    with pytest.raises(InputError, match="missing2.jpg: no such file"):
        preprocess_frames(frames, CFG)
