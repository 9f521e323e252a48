"""TensorRT's INT8 calibration-cache text format, written from our own calibration ranges.

TensorRT 8.5 (JetPack 5) and 10.3 (JetPack 6) still build implicit-INT8 engines from a
calibrator whose `read_calibration_cache` returns this file, skipping calibration on the
device. Format (what TensorRT itself writes):

    TRT-8502-EntropyCalibration2
    frames: 3c010204
    /encoder/conv_stem/Conv_output_0: 3d8f5c29
    ...

one `name: hex` line per tensor, where hex is the big-endian IEEE-754 float32 bit pattern of
the scale amax / 127, and names are the ONNX graph's tensor names (TensorRT's ONNX parser
keeps them). TensorRT ignores a cache whose header names another TensorRT version or another
calibrator algorithm, so the engine builder rewrites the version field to the local one and
reads the cache with an IInt8EntropyCalibrator2; the scales themselves are version-independent.
"""

import struct
from pathlib import Path
from typing import Dict, List

import onnx

from ..core.fileio import atomic_write_text

# JetPack 5.1's TensorRT 8.5.2: the newest target that still uses implicit INT8.
TRT_VERSION_TAG = 8502
ALGORITHM = "EntropyCalibration2"
HEADER = f"TRT-{TRT_VERSION_TAG}-{ALGORITHM}"
INT8_MAX = 127.0
# A tensor that was constant zero during calibration still needs a positive scale.
MIN_SCALE = 1e-12


def scale_hex(amax: float) -> str:
    scale = max(amax / INT8_MAX, MIN_SCALE)
    return struct.pack(">f", scale).hex()


def graph_tensor_order(model: onnx.ModelProto) -> List[str]:
    """Graph inputs, then every node output in node order: a stable, readable file order."""
    names = [i.name for i in model.graph.input]
    names += [out for node in model.graph.node for out in node.output if out]
    return names


def cache_text(model: onnx.ModelProto, amax: Dict[str, float]) -> str:
    lines = [HEADER]
    lines += [f"{name}: {scale_hex(amax[name])}" for name in graph_tensor_order(model)
              if name in amax]
    return "\n".join(lines) + "\n"


def write_cache(path: Path, model: onnx.ModelProto, amax: Dict[str, float]) -> int:
    """Write the cache for `model`'s tensors that have a range; returns the entry count."""
    text = cache_text(model, amax)
    atomic_write_text(path, text)
    return text.count("\n") - 1


def read_cache(path: Path) -> Dict[str, float]:
    """Tensor name -> scale, for tests and for checking a cache by eye."""
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    scales = {}
    for line in lines[1:]:
        name, _, value = line.rpartition(": ")
        scales[name] = struct.unpack(">f", bytes.fromhex(value))[0]
    return scales
