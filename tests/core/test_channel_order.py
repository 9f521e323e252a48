"""channel_order: a BGR array (OpenCV, Ultralytics, supervision) is the RGB frame it came
from; files, PIL images and grey arrays are what they are whatever the order says."""

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from jersey_edge.core.errors import InputError
from jersey_edge.core.preprocess import (
    PreprocessConfig,
    load_rgb,
    network_size,
    preprocess_frames,
)

CFG = PreprocessConfig(height=64, width=32)


@pytest.fixture
def jpegs(jpeg, tmp_path: Path):
    return [jpeg(tmp_path / f"{i}.jpg", size=(40 + 6 * i, 64), colour=(220, 60 + 40 * i, 20),
                 text=str(i)) for i in range(3)]


def decoded(path: Path) -> np.ndarray:
    """The RGB pixels preprocessing decodes from `path` (draft mode included)."""
    return np.asarray(load_rgb(path, pad_value=CFG.pad_value, fit=network_size(CFG)))


def test_a_bgr_array_read_as_bgr_is_its_rgb_file_bit_for_bit(jpegs):
    bgr = [decoded(path)[..., ::-1] for path in jpegs]
    expected = preprocess_frames(jpegs, CFG)
    np.testing.assert_array_equal(preprocess_frames(bgr, CFG, channel_order="bgr"), expected)
    np.testing.assert_array_equal(preprocess_frames(bgr[:1], CFG, "bgr"), expected[:1])
    assert not np.array_equal(preprocess_frames(bgr, CFG), expected)


def test_bgra_arrays_keep_their_alpha_last():
    rgba = np.random.default_rng(1).integers(0, 256, (30, 20, 4), dtype=np.uint8)
    bgra = rgba[..., [2, 1, 0, 3]]
    np.testing.assert_array_equal(preprocess_frames([bgra], CFG, "bgr"),
                                  preprocess_frames([rgba], CFG))


def test_files_images_and_grey_arrays_ignore_the_order(jpegs):
    grey = np.random.default_rng(2).integers(0, 256, (30, 20), dtype=np.uint8)
    frames = [jpegs[0], Image.open(jpegs[1]).convert("RGB"), grey]
    np.testing.assert_array_equal(preprocess_frames(frames, CFG, "bgr"),
                                  preprocess_frames(frames, CFG, "rgb"))


@pytest.mark.parametrize("order", ["BGR", "rgba", "", None, ["bgr"]])
def test_an_unknown_order_names_the_valid_ones(jpegs, order):
    with pytest.raises(InputError, match="'rgb', 'bgr'"):
        preprocess_frames(jpegs, CFG, channel_order=order)
    with pytest.raises(InputError, match="'rgb', 'bgr'"):
        load_rgb(jpegs[0], channel_order=order)
