"""Recognizer.preprocess/predict treat every frame kind by the one rule of load_rgb."""

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from jersey_edge.runtime import InputError


def half_clear_red(height: int = 64, width: int = 40) -> np.ndarray:
    frame = np.zeros((height, width, 4), np.uint8)
    frame[..., 0] = 255
    frame[:, : width // 2, 3] = 255
    return frame


def test_rgba_array_image_and_file_are_one_input(rec, tmp_path: Path):
    frame = half_clear_red()
    Image.fromarray(frame).save(tmp_path / "f.png")
    inputs = [rec.preprocess([f]) for f in (frame, Image.fromarray(frame), tmp_path / "f.png")]
    np.testing.assert_array_equal(inputs[0], inputs[1])
    np.testing.assert_array_equal(inputs[0], inputs[2])
    flattened = frame[..., :3].copy()
    flattened[:, 20:] = rec.manifest.preprocess.pad_value
    np.testing.assert_array_equal(inputs[0], rec.preprocess([flattened]))


def test_16_bit_and_float_arrays_match_their_8_bit_twin(rec):
    eight = np.random.default_rng(0).integers(0, 256, (64, 40, 3), dtype=np.uint8)
    expected = rec.predict([eight]).to_dict()
    sixteen = eight.astype(np.uint16) << 8 | 0xFF
    assert rec.predict([sixteen]).to_dict() == expected
    assert rec.predict([eight / 255.0]).to_dict() == expected


def test_the_pixel_limit_holds_for_arrays(rec):
    with pytest.raises(InputError, match="too large"):
        rec.predict([np.broadcast_to(np.uint8(0), (4097, 4096, 3))])
