"""Calibration frame choice and the TensorRT calibration cache."""

import re
import struct

import numpy as np
import onnx

from jersey_edge.data.discovery import SequenceRecord
from jersey_edge.export.int8.calibration import select_frames
from jersey_edge.runtime.artifacts import CALIBRATION_CACHE, FRAMES
from jersey_edge.runtime.backends.tensorrt.calibration_cache import HEADER, read_cache, scale_hex
from jersey_edge.runtime.manifest import load_manifest

LINE = re.compile(r"^(?P<name>.+): (?P<hex>[0-9a-f]{8})$")


def test_cache_is_tensorrt_text_format_over_fp32_tensor_names(exported) -> None:
    lines = (exported.out / CALIBRATION_CACHE).read_text().splitlines()
    assert lines[0] == HEADER and re.fullmatch(r"TRT-\d+-EntropyCalibration2", HEADER)
    assert all(LINE.match(line) for line in lines[1:])
    scales = read_cache(exported.out / CALIBRATION_CACHE)
    graph = onnx.load(str(exported.out / "encoder.onnx")).graph
    names = {i.name for i in graph.input} | {o for n in graph.node for o in n.output}
    assert FRAMES in scales and set(scales) <= names
    assert all(scale > 0 for scale in scales.values())
    assert load_manifest(exported.out).int8.tensorrt_cache["entries"] == len(scales)


def test_scale_hex_is_big_endian_float_of_amax_over_127() -> None:
    assert scale_hex(127.0) == "3f800000"  # 1.0
    assert struct.unpack(">f", bytes.fromhex(scale_hex(2.54)))[0] == struct.unpack(
        ">f", struct.pack(">f", 0.02))[0]


def _records(labels, per_label, frames):
    return [SequenceRecord(label=label, track=f"{label}/t{i}", sequence=f"{label}/t{i}/s",
                           frames=tuple(f"{label}/t{i}/f{k}.jpg" for k in range(frames)))
            for label in labels for i in range(per_label)]


def test_frames_spread_over_labels_then_sequences_deterministically() -> None:
    records = _records([3, 7, 42], per_label=4, frames=10)
    chosen = select_frames(records, 6, seed=0)
    assert chosen == select_frames(list(reversed(records)), 6, seed=0)
    assert sorted(str(p).split("/")[0] for p in chosen) == ["3", "3", "42", "42", "7", "7"]
    assert len({str(p).rsplit("/", 1)[0] for p in chosen}) == 6  # six different sequences
    many = select_frames(records, 30, seed=0)
    assert len(many) == len(set(many)) == 30
    assert select_frames(records, 6, seed=1) != chosen


def test_amax_accepts_scalar_and_array_ranges() -> None:
    from types import SimpleNamespace

    from jersey_edge.export.int8.calibration import amax_by_tensor

    ranges = {"a": SimpleNamespace(range_value=(np.float32(-3.0), np.float32(2.0))),
              "b": SimpleNamespace(range_value=(np.array([-1.0]), np.array([4.0])))}
    assert amax_by_tensor(ranges) == {"a": 3.0, "b": 4.0}


def test_a_short_last_batch_is_calibrated_in_a_chunk_of_its_own() -> None:
    from jersey_edge.export.int8.calibration import _chunks

    # ORT's histogram calibrators stack one chunk's batches: their shapes must agree
    assert _chunks(70, 16, 4) == [(0, 4), (4, 5)]
    assert _chunks(64, 16, 4) == [(0, 4)]
    assert _chunks(5, 16, 4) == [(0, 1)]
    assert _chunks(200, 16, 4) == [(0, 4), (4, 8), (8, 12), (12, 13)]
