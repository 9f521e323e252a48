"""Option checks fail in one line that says what to type instead."""

import pytest

from jersey_edge.bench import parse_batches
from jersey_edge.bench.options import check_options
from jersey_edge.core.errors import InputError


@pytest.mark.parametrize("text,expected", [
    ("1,4,8,16", [1, 4, 8, 16]),
    ("16, 1 ,4", [1, 4, 16]),
    ("2,2", [2]),
    ("1", [1]),
])
def test_parse_batches(text, expected):
    assert parse_batches(text) == expected


@pytest.mark.parametrize("text", ["0,-1,abc", "0", "-1", "abc", "", "1,,4", "1.5", "5000"])
def test_bad_batches_are_one_clear_line(text):
    with pytest.raises(InputError, match="e.g. 1,4,8,16") as info:
        parse_batches(text)
    assert "\n" not in str(info.value)


GOOD = dict(batches=(1, 2), frames=4, max_frames=4, warmup_s=0.0, duration_s=0.1, threads=0,
            parity_limit=None)


@pytest.mark.parametrize("change,message", [
    (dict(batches=()), "at least one"),
    (dict(frames=5), "frames per sequence must be 1-4"),
    (dict(frames=0), "frames per sequence"),
    (dict(duration_s=0.0), "duration"),
    (dict(warmup_s=-1.0), "warm-up"),
    (dict(threads=-2), "threads must be >= 0"),
    (dict(parity_limit=0), "parity limit"),
    (dict(backends=["onnx"]), "backends: unknown 'onnx'; use tensorrt, onnxruntime"),
    (dict(precisions=["int4"]), "precisions: unknown"),
])
def test_check_options(change, message):
    assert check_options(**GOOD) == [1, 2]
    with pytest.raises(InputError, match=message):
        check_options(**{**GOOD, **change})
