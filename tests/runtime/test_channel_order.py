"""Recognizer and TrackStream channel_order: BGR arrays as trackers hand them."""

import numpy as np
import pytest

from jersey_edge.core.preprocess import load_rgb, network_size
from jersey_edge.runtime import InputError, Recognizer


@pytest.fixture(scope="module")
def bgr_rec(exported):
    with Recognizer.load(exported.out, backend="onnxruntime", threads=1,
                         channel_order="bgr") as recognizer:
        yield recognizer


def bgr_of(path, rec) -> np.ndarray:
    """The BGR array of a frame file, as OpenCV would give the decoded RGB pixels."""
    cfg = rec.manifest.preprocess
    rgb = np.asarray(load_rgb(path, pad_value=cfg.pad_value, fit=network_size(cfg)))
    return np.ascontiguousarray(rgb[..., ::-1])


def test_a_bgr_array_on_a_bgr_recognizer_is_its_rgb_file(rec, bgr_rec, frames):
    arrays = [bgr_of(f, rec) for f in frames[:3]]
    np.testing.assert_array_equal(bgr_rec.preprocess(arrays), rec.preprocess(frames[:3]))
    assert bgr_rec.predict(arrays).to_dict() == rec.predict(frames[:3]).to_dict()
    assert not np.array_equal(rec.predict(arrays).tens_probs, bgr_rec.predict(arrays).tens_probs)


def test_files_read_the_same_whatever_the_order(rec, bgr_rec, frames):
    assert bgr_rec.predict(frames[:2]).to_dict() == rec.predict(frames[:2]).to_dict()


def test_streams_inherit_the_order_unless_told(rec, bgr_rec, frames):
    array = bgr_of(frames[0], rec)
    assert bgr_rec.stream().channel_order == "bgr" and rec.stream().channel_order == "rgb"
    expected = rec.predict([frames[0]]).to_dict()
    assert bgr_rec.stream().update("p", array).to_dict() == expected
    assert rec.stream(channel_order="bgr").update("p", array).to_dict() == expected
    assert bgr_rec.stream(channel_order="rgb").update("p", frames[0]).to_dict() == expected


@pytest.mark.parametrize("order", ["BGR", "hsv", None, 3])
def test_an_unknown_order_is_refused_before_anything_opens(exported, rec, order):
    with pytest.raises(InputError, match="'rgb', 'bgr'"):
        Recognizer.load(exported.out, backend="openvino", channel_order=order)
    with pytest.raises(InputError, match="'rgb', 'bgr'"):
        Recognizer(rec.manifest, rec.encoder, rec.head, backend=rec.backend,
                   precision=rec.precision, channel_order=order)


def test_an_unknown_stream_order_is_refused(rec):
    with pytest.raises(InputError, match="'rgb', 'bgr'"):
        rec.stream(channel_order="RGB")
