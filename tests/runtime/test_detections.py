"""TrackStream.update_from_detections: a video frame and a tracker's boxes, each box cut by
the training-data rule, every crop of the frame through the encoder in one call."""

from typing import List

import numpy as np
import pytest
from PIL import Image

from jersey_edge.core.crops import CropRule, crop_box, cut
from jersey_edge.runtime import InputError

HEIGHT, WIDTH = 120, 200
# x0, y0 of each player's box; the boxes are the size of the crop pasted there
CORNERS = [(5, 10), (70, 30), (140, 50)]


def video_frame(crops: List[np.ndarray]) -> np.ndarray:
    """A grey HxWx3 uint8 frame with each crop pasted at its corner."""
    frame = np.full((HEIGHT, WIDTH, 3), 90, np.uint8)
    for (x, y), crop in zip(CORNERS, crops):
        frame[y:y + crop.shape[0], x:x + crop.shape[1]] = crop
    return frame


def boxes_of(crops: List[np.ndarray]) -> np.ndarray:
    return np.array([(x, y, x + c.shape[1], y + c.shape[0])
                     for (x, y), c in zip(CORNERS, crops)], np.float64)


@pytest.fixture(scope="module")
def clip(frames):
    """Three video frames of three players: (frame, boxes, the crops pasted) per frame."""
    crops = [np.asarray(Image.open(f).convert("RGB")) for f in frames[:6]]
    steps = [[crops[(step + player) % 6] for player in range(3)] for step in range(3)]
    return [(video_frame(c), boxes_of(c), c) for c in steps]


@pytest.fixture
def encoded(rec, monkeypatch):
    """The number of rows of each encoder call made during the test."""
    calls: List[int] = []
    encode = rec.encode

    def counting_encode(pixels):
        calls.append(len(pixels))
        return encode(pixels)

    monkeypatch.setattr(rec, "encode", counting_encode)
    return calls


def test_one_encoder_call_per_video_frame_and_each_crop_encoded_once(rec, clip, encoded):
    stream = rec.stream()
    results = [stream.update_from_detections(frame, boxes, ["a", "b", "c"])
               for frame, boxes, _ in clip]
    assert encoded == [3, 3, 3]
    assert all(list(r) == ["a", "b", "c"] for r in results)
    for player, track in enumerate("abc"):
        expected = rec.predict([crops[player] for _, _, crops in clip])
        got = results[-1][track]
        np.testing.assert_allclose(got.tens_probs, expected.tens_probs, atol=1e-5)
        np.testing.assert_allclose(got.ones_probs, expected.ones_probs, atol=1e-5)
        np.testing.assert_allclose(got.attention, expected.attention, atol=1e-5)
    assert encoded[3:] == [3, 3, 3]  # the checks above: one call per checked sequence


def test_a_crop_is_the_array_update_gets(rec, clip):
    frame, boxes, crops = clip[0]
    from_boxes = rec.stream().update_from_detections(frame, boxes, [1, 2, 3])
    from_arrays = rec.stream().update_many(dict(zip([1, 2, 3], crops)))
    assert {t: p.to_dict() for t, p in from_boxes.items()} == \
        {t: p.to_dict() for t, p in from_arrays.items()}


def test_boxes_off_the_frame_or_too_small_are_skipped(rec, clip, encoded):
    frame, boxes, _ = clip[0]
    off = np.array([[WIDTH + 5, 0, WIDTH + 40, 60], [10, 10, 11, 40]])
    stream = rec.stream()
    got = stream.update_from_detections(frame, np.concatenate([off[:1], boxes, off[1:]]),
                                        ["gone", "a", "b", "c", "sliver"])
    assert list(got) == ["a", "b", "c"] and stream.tracks == ["a", "b", "c"]
    assert encoded == [3]
    assert stream.update_from_detections(frame, off, ["gone", "sliver"]) == {}
    assert stream.update_from_detections(frame, [], []) == {}
    assert encoded == [3]


def test_a_box_half_outside_is_clipped_to_the_frame(rec, clip):
    frame, _, _ = clip[0]
    box = [WIDTH - 30, HEIGHT - 50, WIDTH + 30, HEIGHT + 50]
    got = rec.stream().update_from_detections(frame, [box], ["edge"])["edge"]
    expected = rec.predict([frame[HEIGHT - 50:, WIDTH - 30:]])
    assert got.to_dict() == expected.to_dict()


def test_the_crop_rule_widens_boxes(rec, clip):
    frame, boxes, _ = clip[0]
    rule = CropRule(pad_x=0.25, pad_y=0.1)
    got = rec.stream(crop_rule=rule).update_from_detections(frame, boxes[:1], ["a"])["a"]
    wide = cut(frame, crop_box(boxes[0], (WIDTH, HEIGHT), rule))
    assert wide.shape[1] > boxes[0][2] - boxes[0][0]
    assert got.to_dict() == rec.predict([wide]).to_dict()


def test_a_bgr_frame_on_a_bgr_stream_reads_as_its_rgb_twin(rec, clip):
    frame, boxes, _ = clip[0]
    rgb = rec.stream().update_from_detections(frame, boxes, [1, 2, 3])
    bgr = rec.stream(channel_order="bgr").update_from_detections(
        np.ascontiguousarray(frame[..., ::-1]), boxes, [1, 2, 3])
    assert {t: p.to_dict() for t, p in bgr.items()} == {t: p.to_dict() for t, p in rgb.items()}


def test_numpy_ids_come_back_as_python_ids(rec, clip):
    frame, boxes, _ = clip[0]
    got = rec.stream().update_from_detections(frame, boxes, np.array([7, 8, 9]))
    assert [type(t) for t in got] == [int, int, int] and list(got) == [7, 8, 9]


@pytest.mark.parametrize("frame,boxes,ids,message", [
    ("frame.jpg", [[0, 0, 10, 10]], [1], "HxWx3 uint8 array"),
    (np.zeros((50, 50), np.uint8), [[0, 0, 10, 10]], [1], r"shape \(50, 50\)"),
    (np.zeros((50, 50, 4), np.uint8), [[0, 0, 10, 10]], [1], "HxWx3"),
    (np.zeros((50, 50, 3), np.float32), [[0, 0, 10, 10]], [1], "dtype float32"),
    (None, [[0, 0, 10, 10, 1]], [1], r"\[N,4\].*shape \(1, 5\)"),
    (None, [[0, 0, 10, 10], [0, 0, 5]], [1, 2], r"\[N,4\] array of numbers"),
    (None, [[0, 0, 10, 10]], [1, 2], "2 ids for 1 boxes"),
    (None, [[0, 0, 10, 10]], 1, "track_ids must be a list"),
    (None, [[0, 0, 10, 10]], "a", "track_ids must be a list"),
    (None, [[0, 0, 10, 10], [5, 5, 20, 20]], [3, 3], "unique within a frame, got 3"),
    (None, [[0, 0, 10, 10]], [[1]], r"hashable.*\[1\]"),
    (None, [[0, 0, np.nan, 10]], [1], "4 finite numbers"),
])
def test_bad_detections_are_one_line_input_errors_and_store_nothing(rec, frame, boxes, ids,
                                                                     message):
    stream = rec.stream()
    frame = np.zeros((50, 50, 3), np.uint8) if frame is None else frame
    with pytest.raises(InputError, match=message) as caught:
        stream.update_from_detections(frame, boxes, ids)
    assert "\n" not in str(caught.value)
    assert stream.tracks == []
