"""TensorRT's INT8 calibration-cache text format: export writes it, the engine builder reads it.

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
calibrator algorithm, so the builder rewrites the version field to the local one
(`localize`) and reads the cache with an IInt8EntropyCalibrator2; the scales themselves are
version-independent. No TensorRT (nor onnx) is imported here.
"""

import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Sequence, Tuple

from ....core.errors import ArtifactError
from ....core.fileio import atomic_write_text

# JetPack 5.1's TensorRT 8.5.2: the newest target that still uses implicit INT8.
EXPORT_VERSION = (8, 5, 2)
ALGORITHM = "EntropyCalibration2"
INT8_MAX = 127.0
# A tensor that was constant zero during calibration still needs a positive scale.
MIN_SCALE = 1e-12


def version_tag(version: Tuple[int, ...]) -> int:
    """TensorRT's NV_TENSORRT_VERSION, which heads calibration caches (TRT-<tag>-...).

    8.x: major*1000 + minor*100 + patch (8.5.2 -> 8502); from 10.0 (NvInferRuntimeBase.h):
    major*10000 + minor*100 + patch (10.3.0 -> 100300).
    """
    major, minor, patch = (tuple(version) + (0, 0, 0))[:3]
    return major * (1000 if major < 10 else 10000) + minor * 100 + patch


def header(version: Tuple[int, ...]) -> str:
    return f"TRT-{version_tag(version)}-{ALGORITHM}"


HEADER = header(EXPORT_VERSION)


def scale_hex(amax: float) -> str:
    scale = max(amax / INT8_MAX, MIN_SCALE)
    return struct.pack(">f", scale).hex()


def cache_text(tensor_order: Sequence[str], amax: Dict[str, float]) -> str:
    """The cache for the tensors of `tensor_order` that have a range, in that order."""
    lines = [HEADER]
    lines += [f"{name}: {scale_hex(amax[name])}" for name in tensor_order if name in amax]
    return "\n".join(lines) + "\n"


def write_cache(path: Path, tensor_order: Sequence[str], amax: Dict[str, float]) -> int:
    """Write the cache atomically; returns the entry count."""
    text = cache_text(tensor_order, amax)
    atomic_write_text(path, text)
    return text.count("\n") - 1


def read_cache(path: Path) -> Dict[str, float]:
    """Tensor name -> scale, for tests and for checking a cache by eye."""
    return {name: struct.unpack(">f", bytes.fromhex(value))[0]
            for name, value in _entries(Path(path).read_bytes()).items()}


def _entries(table: bytes) -> Dict[str, str]:
    """Tensor name -> scale hex of a cache's lines below its header, in file order."""
    found: Dict[str, str] = {}
    for line in table.decode("utf-8").splitlines()[1:]:
        name, _, value = line.rpartition(": ")
        if name:
            found[name] = value
    return found


# Layers whose output holds the very values of their first input (reshape, flatten,
# transpose): the parser inserts such layers, under its own tensor names, for ONNX
# Flatten/Reshape and around a Gemm; they take their input's scale.
RANGE_PRESERVING = ("SHUFFLE",)


@dataclass(frozen=True)
class Layer:
    """One layer of a parsed network: its type name (TensorRT's LayerType) and tensors."""

    kind: str
    inputs: Tuple[str, ...]
    outputs: Tuple[str, ...]


@dataclass
class Coverage:
    """Which layer outputs of a network the cache gives a scale (the rest run unquantized)."""

    covered: int = 0
    filled: List[str] = field(default_factory=list)
    missing: List[str] = field(default_factory=list)

    def describe(self) -> str:
        total = self.covered + len(self.filled) + len(self.missing)
        text = (f"calibration cache covers {self.covered + len(self.filled)} of {total} "
                f"layer outputs ({len(self.filled)} filled from the tensor they reshape)")
        if self.missing:
            shown = ", ".join(self.missing[:5]) + (" ..." if len(self.missing) > 5 else "")
            text += f"; without a scale, so not INT8: {shown}"
        return text


def fill_gaps(table: bytes, layers: Sequence[Layer]) -> Tuple[bytes, Coverage]:
    """The cache with a scale for every output of a range-preserving layer whose input has
    one (in network order, so chains of reshapes fill too), and what it covers."""
    entries = _entries(table)
    coverage = Coverage()
    added: List[Tuple[str, str]] = []
    for layer in layers:
        for output in layer.outputs:
            if output in entries:
                coverage.covered += 1
            elif layer.kind in RANGE_PRESERVING and layer.inputs and layer.inputs[0] in entries:
                entries[output] = entries[layer.inputs[0]]
                added.append((output, entries[output]))
                coverage.filled.append(output)
            else:
                coverage.missing.append(output)
    text = table.decode("utf-8").rstrip("\n") + "".join(f"\n{n}: {v}" for n, v in added) + "\n"
    return text.encode("utf-8"), coverage


def localize(table: bytes, version: Tuple[int, ...]) -> bytes:
    """The cache with its header naming TensorRT `version`; refuse non-caches.

    TensorRT skips a cache whose header names another version or algorithm (10.x rejects an
    8.x header, then asks for calibration data that is not there). The per-tensor scales
    below the header do not depend on the version, so the header is rewritten.
    """
    first, _, body = table.partition(b"\n")
    text = first.decode("ascii", "replace").strip()
    if not (text.startswith("TRT-") and text.endswith(f"-{ALGORITHM}")):
        raise ArtifactError(
            f"calibration cache header {text[:60]!r} is not a TensorRT {ALGORITHM} "
            "cache: re-export with INT8, or build from the QDQ graph"
        )
    return f"{header(version)}\n".encode("ascii") + body
