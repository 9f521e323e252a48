"""The one place that knows the export folder's layout: file names, tensor names, and which
graphs serve each precision on each target. What the folder holds is `manifest.Manifest`.
"""

from dataclasses import dataclass
from typing import FrozenSet, List

from ..core.errors import ArtifactError

MANIFEST = "manifest.json"
GOLDEN = "golden.npz"
CALIBRATION_CACHE = "calibration.cache"
TIMING_CACHE = "timing.cache"
# Engines and timing cache of ONNX Runtime's TensorRT provider (built on the device, not
# listed in the manifest: the provider checks them against the graph and the GPU itself).
ORT_TENSORRT_CACHE = "ort-tensorrt-cache"
INT8_REPORT = "int8_report.json"
# The manifest section that describes each engine built on the device (see `EngineRecord`).
ENGINES = "engines"

# Tensor names of the two graphs; nothing else in the package spells them.
FRAMES = "frames"
EMBEDDINGS = "embeddings"
MASK = "mask"
TENS = "tens_logits"
ONES = "ones_logits"
ATTENTION = "attention"

PRECISIONS = ("fp32", "fp16", "int8")
PARTS = ("encoder", "head")

def onnx_name(part: str, precision: str, target_suffix: str = "") -> str:
    """encoder/head x fp32/fp16/int8 (+ the INT8 target's suffix: 'cpu', 'typed'; see
    `graphs_for`) -> name."""
    suffix = "" if precision == "fp32" else f".{precision}"
    if target_suffix:
        suffix += f".{target_suffix}"
    return f"{part}{suffix}.onnx"


def engine_name(part: str, precision: str) -> str:
    return f"{part}.{precision}.engine"


def polygraphy_inputs_name(part: str) -> str:
    """The golden inputs of `part` as Polygraphy's `--load-inputs` reads them."""
    return f"{part}.golden_inputs.json"


def polygraphy_outputs_name(part: str) -> str:
    """The PyTorch outputs for those inputs as Polygraphy's `--load-outputs` reads them."""
    return f"{part}.golden_outputs.json"


TARGETS = ("cpu", "tensorrt", "tensorrt-typed", "openvino")


@dataclass(frozen=True)
class Serving:
    """The graph pair (and engines) that serve one precision on one target.

    target "tensorrt" is any TensorRT-compiled path whose precision builder flags pick
    (engines on TensorRT 8.x, ORT's TensorRT/CUDA providers); "tensorrt-typed" is an engine
    built as a strongly typed network (TensorRT >= 10), where the graph's own tensor types
    are the precision; "cpu" is ONNX Runtime's CPU provider; "openvino" OpenVINO's CPU plugin.
    """

    precision: str
    target: str
    encoder: str
    head: str

    @property
    def name(self) -> str:
        """'fp32', 'fp16', or 'int8 <target>' for the INT8 encoders (one per target)."""
        if self.precision != "int8":
            return self.precision
        return f"int8 {self.target.replace('-', ' ')}"

    def builder_flags(self, part: str) -> List[str]:
        """The precision flags a weakly typed TensorRT build of `part` sets ("fp16", "int8"),
        for engines and ONNX Runtime's TensorRT provider alike. INT8 gets FP16 too, so the
        nodes export left in float and everything outside Q/DQ pairs run FP16; the head of
        an INT8 pair is FP16. None for a strongly typed build or a CPU target."""
        if self.target != "tensorrt":
            return []
        flags = ["fp16"] if self.precision in ("fp16", "int8") else []
        return flags + (["int8"] if self.precision == "int8" and part == "encoder" else [])

    def graph(self, part: str) -> str:
        return self.encoder if part == "encoder" else self.head

    def engine(self, part: str) -> str:
        return engine_name(part, self.precision)


def graphs_for(precision: str, target: str) -> Serving:
    """The one serving table: which ONNX graphs run `precision` on `target`.

    INT8 has three encoder graphs from one calibration: symmetric S8 QDQ for TensorRT, the
    same with FP16 between its Q/DQ pairs (opset 19) for strongly typed TensorRT builds, and
    U8-activation QDQ for ONNX Runtime's x86 VNNI kernels. OpenVINO runs the symmetric S8
    encoder (faster there than the U8 one, and closer to FP32: docs/speed.md). The GRU head
    is never quantized: it runs FP16 under TensorRT and FP32 on CPUs (where FP16 is emulated
    and slow).
    """
    if precision not in PRECISIONS:
        raise ArtifactError(f"unknown precision {precision!r}: use one of {', '.join(PRECISIONS)}")
    if target not in TARGETS:
        raise ArtifactError(f"unknown target {target!r}: use one of {', '.join(TARGETS)}")
    if precision != "int8":
        return Serving(precision, target, onnx_name("encoder", precision),
                       onnx_name("head", precision))
    suffix = {"cpu": "cpu", "tensorrt": "", "tensorrt-typed": "typed", "openvino": ""}[target]
    head = "fp32" if target in ("cpu", "openvino") else "fp16"
    return Serving(precision, target, onnx_name("encoder", "int8", suffix),
                   onnx_name("head", head))


def _layout_names() -> FrozenSet[str]:
    """Every file name an artifacts folder may hold: graphs, engines and the fixed names."""
    graphs = {graphs_for(precision, target).graph(part) for part in PARTS
              for precision in PRECISIONS for target in TARGETS}
    engines = {engine_name(part, precision) for part in PARTS for precision in PRECISIONS}
    polygraphy = {name(part) for part in PARTS
                  for name in (polygraphy_inputs_name, polygraphy_outputs_name)}
    fixed = {GOLDEN, CALIBRATION_CACHE, TIMING_CACHE, INT8_REPORT}
    return frozenset(graphs | engines | polygraphy | fixed)


# A manifest may list only these plain names, so no entry can point outside the folder.
LAYOUT_NAMES = _layout_names()
