"""The encoder's INT8 QDQ scheme for each target (TensorRT, CPU), both from one set of ranges.

TensorRT (`encoder.int8.onnx`), following TensorRT's Q/DQ placement guidance (and the
same ORT options NVIDIA's ModelOpt passes as its "TensorRT-guided" settings):
  * symmetric signed INT8 activations and weights, every zero point 0 (TensorRT's only
    quantization scheme), per-channel weight scales;
  * Q/DQ on the inputs of weighted ops (Conv, Gemm/MatMul), of pooling, and on both inputs of
    residual Adds (so TensorRT can fuse the Add into the preceding convolution); outputs
    are not quantized, TensorRT fuses Conv+ReLU6 and requantizes at the next Q;
  * weights kept FP32 behind a Q->DQ pair: TensorRT 8.x only accepts FP32 weights in Q/DQ
    networks (it quantizes them itself with the Q scale);
  * biases left FP32: TensorRT's parser rejects the INT32 bias DequantizeLinear that ORT
    writes by default ("only activation types allowed as input to this layer");
  * a dedicated Q/DQ pair per consumer (TensorRT cannot share one pair between nodes), so a
    tensor feeding a conv and a residual Add is fused into each independently.
ONNX Runtime runs this graph on CPU too, only slowly (it fuses few of these Q/DQ patterns
into integer kernels): good enough to measure its accuracy at export.
CPU (`encoder.int8.cpu.onnx`): U8 activations / S8 per-channel weights, every op ORT
can quantize, INT8 weights and INT32 biases, as ORT's x86 VNNI kernels (QLinearConv etc.) want.
Weights use 7 of their 8 bits (ORT's reduce_range): x86 CPUs without VNNI (AVX2, AVX-512F)
multiply U8 x S8 with VPMADDUBSW, whose 16-bit pair sums saturate at full-range weights;
the graph must be right on every CPU it is copied to. Measured on an AVX2-only EPYC, a
Lite0 with ImageNet weights: embedding cosine mean/min 0.933/0.733 quantized at 8 bits (7
nodes then left float to reach 0.994) vs 0.971/0.921 at 7 bits (0.995 with 2 float nodes).
Convs whose input channels are not a multiple of 4 (the 3-channel stem) stay float there:
ORT's symmetric integer conv kernels need multiples of 4 (MlasConvSymPackWSize) and its
fallback is slower than FP32 (measured, 16 frames: stem 2.0-2.5 ms INT8 vs 1.45 ms FP32;
encoder 17.7 -> 17.1 ms with the stem in float).
Both are only the first step of the recipe in `build.py` (bias correction, mixed precision).
"""

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import onnx

from ...core.fileio import atomic_path
from ...runtime.artifacts import graphs_for
from .calibration import ort_method

WEIGHTED_OPS = ("Conv", "Gemm", "MatMul")
TENSORRT_OPS = WEIGHTED_OPS + ("Add", "GlobalAveragePool", "AveragePool")


@dataclass(frozen=True)
class QdqScheme:
    """How one serving target's INT8 encoder is quantized; `file` is its graph there."""

    target: str  # a serving target (`runtime.artifacts.TARGETS`)
    file: str
    activations: str  # "int8" | "uint8"
    op_types: Optional[Tuple[str, ...]]  # None: every op ORT can quantize
    options: Dict[str, Any] = field(default_factory=dict)
    narrow_convs_float: bool = False  # see the module docstring
    reduce_range: bool = False  # 7-bit weights (see the module docstring)

    def describe(self) -> Dict[str, Any]:
        return {"file": self.file, "activations": self.activations,
                "weights": "int8, 7-bit range" if self.reduce_range else "int8",
                "per_channel": True,
                "op_types": list(self.op_types) if self.op_types else "all ORT-quantizable",
                "options": dict(sorted(self.options.items())),
                "narrow_convs_float": self.narrow_convs_float}

    def float_for_speed(self, fp32: onnx.ModelProto) -> List[str]:
        """Nodes this scheme leaves in float because they run faster that way."""
        return narrow_input_convs(fp32) if self.narrow_convs_float else []


TENSORRT = QdqScheme(
    target="tensorrt",
    file=graphs_for("int8", "tensorrt").encoder,
    activations="int8",
    op_types=TENSORRT_OPS,
    options={
        "ActivationSymmetric": True,
        "WeightSymmetric": True,
        "AddQDQPairToWeight": True,
        "QuantizeBias": False,
        "DedicatedQDQPair": True,
        "OpTypesToExcludeOutputQuantization": list(TENSORRT_OPS),
        "QDQKeepRemovableActivations": True,
    },
)

CPU = QdqScheme(
    target="cpu",
    file=graphs_for("int8", "cpu").encoder,
    activations="uint8",
    op_types=None,
    # Clip/Relu stay in the graph (ORT fuses them at load time either way, same speed) so
    # every node keeps its FP32-graph inputs and `qdq_graph.leave_float` can free any node.
    options={"ActivationSymmetric": False, "WeightSymmetric": True,
             "QDQKeepRemovableActivations": True},
    narrow_convs_float=True,
    reduce_range=True,
)

SCHEMES = (TENSORRT, CPU)


def narrow_input_convs(fp32: onnx.ModelProto) -> List[str]:
    """Ungrouped Convs whose input channels are not a multiple of 4."""
    weights = {i.name: tuple(i.dims) for i in fp32.graph.initializer}
    found = []
    for node in fp32.graph.node:
        group = next((a.i for a in node.attribute if a.name == "group"), 1)
        shape = weights.get(node.input[1]) if node.op_type == "Conv" else None
        if shape is not None and group == 1 and shape[1] % 4:
            found.append(node.name)
    return found


def quantize_encoder(fp32: Path, out: Path, scheme: QdqScheme, *, ranges_file: Path,
                     method: str) -> Path:
    """Write the FP32 encoder quantized by `scheme` to `out`, reusing the calibrated ranges."""
    from onnxruntime.quantization import QuantFormat, QuantType, quantize_static

    activation = QuantType.QInt8 if scheme.activations == "int8" else QuantType.QUInt8
    # ORT suggests its quant_pre_process on the root logger. Not needed here: the graph is
    # already simplified, BN-folded and shape-inferred; pre-processing would only split
    # HardSwish into HardSigmoid*x (and take seconds).
    quiet = _DropPreprocessHint()
    logging.getLogger().addFilter(quiet)
    try:
        with atomic_path(out) as tmp:
            quantize_static(
                fp32, tmp, None,
                quant_format=QuantFormat.QDQ,
                op_types_to_quantize=list(scheme.op_types) if scheme.op_types else None,
                per_channel=True,
                reduce_range=scheme.reduce_range,
                activation_type=activation,
                weight_type=QuantType.QInt8,
                calibrate_method=ort_method(method),
                extra_options=dict(scheme.options),
                calibration_cache_path=ranges_file,
            )
    finally:
        logging.getLogger().removeFilter(quiet)
    return out


class _DropPreprocessHint(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return "pre-processing" not in record.getMessage()
