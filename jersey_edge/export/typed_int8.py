"""The TensorRT INT8 encoder as a strongly typed graph: FP16 between its Q/DQ pairs.

TensorRT 10 builds strongly typed networks (weak typing is deprecated since 10.12 and gone
in 11), and there the graph's tensor types are the precision: a DequantizeLinear outputs
the type of its scale. In the opset-17 QDQ graph every scale is FP32, so each layer that is
not fused into an INT8 kernel (the nodes the mixed-precision step left in float, the final
Gemm, the input and output casts) would run FP32. This graph is the same QDQ graph at opset
19 with FP16 scales, weights and activations, so those layers run FP16, as
`BuilderFlag.FP16` made them run on a weakly typed build.

Scales below FP16's smallest normal number (a channel of near-zero weights) are raised to
it: FP16 would round them coarsely or to zero, and TensorRT refuses a zero scale.
"""

from dataclasses import dataclass
from typing import Any, Dict

import numpy as np
import onnx
from onnx import numpy_helper, version_converter

from .fp16 import to_fp16

OPSET = 19  # the first opset whose QuantizeLinear/DequantizeLinear take FP16 scales
QDQ_OPS = ("QuantizeLinear", "DequantizeLinear")
SMALLEST_NORMAL = float(np.finfo(np.float16).tiny)


@dataclass(frozen=True)
class TypedInt8:
    model: onnx.ModelProto
    raised_scales: int  # scale values raised to SMALLEST_NORMAL

    def describe(self) -> Dict[str, Any]:
        return {"opset": OPSET, "between_qdq": "float16", "io": "float32 (casts inside)",
                "scales_raised_to_fp16_normal": self.raised_scales}


def to_strongly_typed(qdq: onnx.ModelProto) -> TypedInt8:
    """The opset-17 QDQ encoder -> its opset-19 form with FP16 outside the integer kernels."""
    model = onnx.ModelProto()
    model.CopyFrom(qdq)
    raised = _raise_small_scales(model)
    typed = to_fp16(version_converter.convert_version(model, OPSET))
    return TypedInt8(model=typed, raised_scales=raised)


def _raise_small_scales(model: onnx.ModelProto) -> int:
    scales = {node.input[1] for node in model.graph.node if node.op_type in QDQ_OPS}
    raised = 0
    for index, tensor in enumerate(model.graph.initializer):
        if tensor.name not in scales:
            continue
        values = numpy_helper.to_array(tensor)
        small = values < SMALLEST_NORMAL
        if small.any():
            raised += int(small.sum())
            fixed = np.where(small, SMALLEST_NORMAL, values).astype(values.dtype)
            model.graph.initializer[index].CopyFrom(numpy_helper.from_array(fixed, tensor.name))
    return raised
