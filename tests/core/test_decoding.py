"""One conversion for every frame kind: only JPEG/PNG decoders, alpha on the pad value,
16-bit and float pixels scaled (never wrapped or blackened), the pixel limit everywhere."""

from pathlib import Path
from typing import Callable, Dict

import numpy as np
import pytest
from PIL import Image

from jersey_edge.core.errors import InputError
from jersey_edge.core.preprocess import (
    MAX_FRAME_PIXELS,
    PreprocessConfig,
    load_rgb,
    preprocess_frame,
)
from tests import image_formats

# Identity geometry and normalisation: the network input is the 8-bit RGB pixels themselves.
W, H = 4, 8
RAW = PreprocessConfig(height=H, width=W, pad_value=30, sharpness=1.0, mean=(0.0, 0.0, 0.0),
                       std=(1.0, 1.0, 1.0))

PILLOW_VERDICT = {"TIFF": "TIFF", "float TIFF": "TIFF", "WEBP": "WEBP",
                  "DDS": "NotImplementedError", "EPS": "EPS"}


def pillow_verdict(path: Path) -> str:
    """What an unrestricted Image.open makes of the file: its format, or what it raised."""
    try:
        with Image.open(path) as image:
            return str(image.format)
    except Exception as exc:  # noqa: BLE001 - the exception type is the verdict
        return type(exc).__name__


def pixels(frame, cfg: PreprocessConfig = RAW) -> np.ndarray:
    """The network input of one frame as HxWx3 pixel values."""
    return preprocess_frame(frame, cfg).transpose(1, 2, 0)


# --- item 7: decoders chosen by content -------------------------------------------------

@pytest.mark.parametrize("case", sorted(image_formats.OTHER_FORMATS))
def test_other_formats_behind_a_jpg_name_are_input_errors(tmp_path: Path, case: str) -> None:
    path = image_formats.write(tmp_path / "frame.jpg", case)
    assert pillow_verdict(path) == PILLOW_VERDICT[case]
    with pytest.raises(InputError, match="frame.jpg: not a readable image"):
        load_rgb(path)


@pytest.mark.parametrize("case", sorted(image_formats.BROKEN_PNGS))
def test_broken_pngs_are_input_errors(tmp_path: Path, case: str) -> None:
    path = image_formats.write(tmp_path / "frame.png", case)
    with pytest.raises(InputError, match="frame.png: not a readable image"):
        preprocess_frame(path, RAW)


def test_only_jpeg_and_png_decoders_ever_run(tmp_path: Path, monkeypatch) -> None:
    def refuse(*args, **kwargs):
        raise AssertionError("a decoder other than JPEG or PNG ran")

    for fmt, (_, accept) in list(Image.OPEN.items()):
        if fmt not in ("JPEG", "PNG"):
            monkeypatch.setitem(Image.OPEN, fmt, (refuse, accept))
    Image.new("RGB", (W, H), (1, 2, 3)).save(tmp_path / "ok.png")
    assert pixels(tmp_path / "ok.png")[0, 0].tolist() == [1, 2, 3]
    for case in image_formats.OTHER_FORMATS:
        with pytest.raises(InputError):
            load_rgb(image_formats.write(tmp_path / f"{case}.jpg", case))


# --- item 13: one rule for paths, arrays and PIL images -----------------------------------

def rgba(alpha: int) -> np.ndarray:
    frame = np.zeros((H, W, 4), np.uint8)
    frame[..., 0] = 255
    frame[..., 3] = alpha
    return frame


def as_file(tmp_path: Path) -> Callable[[np.ndarray], Path]:
    def write(frame: np.ndarray) -> Path:
        path = tmp_path / f"frame_{len(list(tmp_path.iterdir()))}.png"
        Image.fromarray(frame).save(path)
        return path
    return write


def kinds(tmp_path: Path) -> Dict[str, Callable[[np.ndarray], object]]:
    return {"array": lambda a: a, "image": Image.fromarray, "file": as_file(tmp_path)}


@pytest.mark.parametrize("kind", ["array", "image", "file"])
@pytest.mark.parametrize("alpha,expected", [(0, (30, 30, 30)), (255, (255, 0, 0)),
                                            (128, (143, 15, 15))])
def test_alpha_composites_on_the_pad_value_for_every_kind(tmp_path, kind, alpha, expected):
    out = pixels(kinds(tmp_path)[kind](rgba(alpha)))
    np.testing.assert_allclose(out, np.broadcast_to(expected, out.shape), atol=1)


def test_alpha_follows_the_configured_pad_value(tmp_path: Path) -> None:
    for pad in (0, 200):
        cfg = PreprocessConfig(height=H, width=W, pad_value=pad, sharpness=1.0,
                               mean=(0.0, 0.0, 0.0), std=(1.0, 1.0, 1.0))
        assert np.all(pixels(rgba(0), cfg) == pad)
    assert np.asarray(load_rgb(rgba(0), pad_value=77)).max() == 77


def test_grey_alpha_and_palette_transparency_use_the_pad_value(tmp_path: Path) -> None:
    Image.new("LA", (W, H), (250, 0)).save(tmp_path / "la.png")
    palette = Image.new("P", (W, H), 3)
    palette.putpalette([0, 0, 0, 10, 10, 10, 20, 20, 20, 250, 0, 0])
    palette.save(tmp_path / "p.png", transparency=3)
    for frame in (tmp_path / "la.png", tmp_path / "p.png", Image.new("LA", (W, H), (250, 0))):
        assert np.all(pixels(frame) == 30)


SIXTEEN = np.array([[0, 255, 256, 511], [4096, 32768, 65280, 65535]] * 4, np.uint16)
EIGHT = (SIXTEEN >> 8).astype(np.uint8)  # 0 0 1 1 / 16 128 255 255


@pytest.mark.parametrize("kind", ["array", "image", "file", "int32 image"])
def test_16_bit_grey_scales_to_8_bit_never_wraps(tmp_path: Path, kind: str) -> None:
    frame = {"int32 image": lambda a: Image.fromarray(a.astype(np.int32)),
             **kinds(tmp_path)}[kind](SIXTEEN)
    out = pixels(frame)
    assert np.array_equal(out, np.stack([EIGHT] * 3, axis=-1))


def test_16_bit_colour_and_alpha_arrays_scale_per_channel() -> None:
    colour = np.stack([SIXTEEN, SIXTEEN[::-1], np.full_like(SIXTEEN, 256)], axis=-1)
    assert np.array_equal(pixels(colour)[..., 0], EIGHT)
    assert np.all(pixels(colour)[..., 2] == 1)
    with_alpha = np.dstack([colour, np.zeros_like(SIXTEEN)])
    assert np.all(pixels(with_alpha) == 30)


def test_16_bit_values_outside_the_range_are_refused() -> None:
    with pytest.raises(InputError, match="0-65535"):
        load_rgb(Image.fromarray(np.full((H, W), 70000, np.int32)))


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_float_arrays_are_0_to_1(dtype) -> None:
    grey = np.array([[0.0, 0.2, 1.0, 0.5]] * H, dtype)
    assert pixels(grey)[0, :, 0].tolist() == [0, 51, 255, 128]
    colour = np.stack([grey, 1 - grey, np.zeros_like(grey)], axis=-1)
    assert pixels(colour)[0, :, 1].tolist() == [255, 204, 0, 128]


def test_float_pil_images_follow_the_array_rule() -> None:
    grey = Image.fromarray(np.full((H, W), 0.2, np.float32))
    assert grey.mode == "F"
    assert np.all(pixels(grey) == 51)
    with pytest.raises(InputError, match="0-1"):
        load_rgb(Image.fromarray(np.full((H, W), 255.0, np.float32)))


@pytest.mark.parametrize("bad,message", [(np.nan, "finite"), (np.inf, "finite"),
                                         (1.5, "0-1"), (-0.1, "0-1")])
def test_float_arrays_out_of_range_or_not_finite_are_refused(bad, message) -> None:
    frame = np.full((H, W, 3), 0.5, np.float32)
    frame[1, 2, 0] = bad
    with pytest.raises(InputError, match=message):
        load_rgb(frame)


@pytest.mark.parametrize("frame", [np.zeros((H, W), np.int64), np.zeros((H, W), bool),
                                   np.zeros((H, W, 3), np.int8)])
def test_other_dtypes_are_refused_with_the_supported_ones(frame) -> None:
    with pytest.raises(InputError, match="uint8.*uint16.*float"):
        load_rgb(frame)


@pytest.mark.parametrize("shape", [(H, W, 2), (H, W, 5), (1, H, W, 3), (H,)])
def test_bad_array_shapes_are_refused(shape) -> None:
    with pytest.raises(InputError, match="HxW, HxWx3 or HxWx4"):
        load_rgb(np.zeros(shape, np.uint8))


@pytest.mark.parametrize("frame", [np.zeros((0, W, 3), np.uint8), np.zeros((H, 0), np.uint16),
                                   Image.new("RGB", (0, 0))])
def test_empty_frames_are_refused(frame) -> None:
    with pytest.raises(InputError, match="empty image"):
        load_rgb(frame)


@pytest.mark.parametrize("shape", [(H, W), (H, W, 3), (H, W, 4)])
def test_grey_rgb_and_rgba_uint8_arrays_are_frames(shape) -> None:
    frame = np.full(shape, 90, np.uint8)
    if len(shape) == 3 and shape[2] == 4:
        frame[..., 3] = 255
    assert np.all(pixels(frame) == 90)


def test_pixel_limit_applies_to_every_kind(tmp_path: Path) -> None:
    side = 4096
    assert side * side == MAX_FRAME_PIXELS
    too_tall = np.broadcast_to(np.uint8(7), (side + 1, side))  # no memory behind it
    with pytest.raises(InputError, match="too large"):
        load_rgb(too_tall)
    with pytest.raises(InputError, match="too large"):
        load_rgb(Image.new("L", (side, side + 1)))
    with pytest.raises(InputError, match="too large"):
        load_rgb(np.broadcast_to(np.float32(0.5), (side + 1, side, 3)))
    Image.new("L", (side, side + 1)).save(tmp_path / "big.png")
    with pytest.raises(InputError, match="too large"):
        load_rgb(tmp_path / "big.png")
    assert load_rgb(Image.new("L", (side, side))).size == (side, side)
