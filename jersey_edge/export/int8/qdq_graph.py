"""Edits of a QDQ graph: against the FP32 graph it was quantized from, and into the strongly
typed form TensorRT 10 builds.

ONNX Runtime's quantizer keeps node names and the names of the original float tensors, so
"node N in float" is a precise edit: give N the inputs it has in the FP32 graph (the float
activation, the float weight) and drop the Q/DQ nodes nobody reads any more. What remains
is the same graph with N's inputs no longer passing through a quantizer. TensorRT then runs
N in float (FP16 when the builder allows it), ONNX Runtime in FP32. Sensitivity, mixed
precision and bias correction all use this one edit, so what is measured is what is shipped.

Strongly typed (`to_strongly_typed`): TensorRT 10 builds strongly typed networks (weak typing
is deprecated since 10.12 and gone in 11), and there the graph's tensor types are the
precision: a DequantizeLinear outputs the type of its scale. In the opset-17 QDQ graph every
scale is FP32, so each layer that is not fused into an INT8 kernel (the nodes the
mixed-precision step left in float, the final Gemm, the input and output casts) would run
FP32. The typed graph is the same QDQ graph at opset 19 with FP16 scales, weights and
activations, so those layers run FP16, as `BuilderFlag.FP16` made them run on a weakly typed
build. Scales below FP16's smallest normal number (a channel of near-zero weights) are raised
to it: FP16 would round them coarsely or to zero, and TensorRT refuses a zero scale.
"""

from dataclasses import dataclass
from typing import Any, Dict, Iterable, List, Set

import numpy as np
import onnx
from onnx import numpy_helper, version_converter

from ..onnx_graphs import to_fp16

QDQ_OPS = ("QuantizeLinear", "DequantizeLinear")
FLOAT_SUFFIX = ".float"
TYPED_OPSET = 19  # the first opset whose QuantizeLinear/DequantizeLinear take FP16 scales
SMALLEST_NORMAL = float(np.finfo(np.float16).tiny)


def quantized_nodes(qdq: onnx.ModelProto) -> List[str]:
    """Names of the compute nodes with at least one input read through a DequantizeLinear,
    in graph (topological) order."""
    dequantized = {o for n in qdq.graph.node if n.op_type == "DequantizeLinear" for o in n.output}
    return [n.name for n in qdq.graph.node
            if n.op_type not in QDQ_OPS and any(i in dequantized for i in n.input)]


def leave_float(qdq: onnx.ModelProto, fp32: onnx.ModelProto,
                names: Iterable[str]) -> onnx.ModelProto:
    """A copy of `qdq` where the named nodes read their FP32-graph inputs, weights and biases
    included (a bias that bias correction changed for the quantized graph is restored)."""
    chosen = set(names)
    model = onnx.ModelProto()
    model.CopyFrom(qdq)
    originals = {n.name: n for n in fp32.graph.node}
    float_weights = {i.name: i for i in fp32.graph.initializer}
    present = {i.name: i for i in model.graph.initializer}
    taken = {o for n in model.graph.node for o in n.output}  # e.g. a DQ'd bias keeps its name
    for node in model.graph.node:
        if node.name not in chosen:
            continue
        for index, before in enumerate(originals[node.name].input):
            if before not in float_weights:
                node.input[index] = before
                continue
            node.input[index] = _float_initializer(model, present, taken, float_weights[before])
    return prune(model)


def _float_initializer(model: onnx.ModelProto, present: Dict[str, onnx.TensorProto],
                       taken: Set[str], tensor: onnx.TensorProto) -> str:
    """Name under which `tensor` (from the FP32 graph) is in `model`, adding it if needed."""
    for name in (tensor.name, f"{tensor.name}{FLOAT_SUFFIX}"):
        if name in taken:
            continue
        copy = _renamed(tensor, name)
        if name not in present:
            model.graph.initializer.append(copy)
            present[name] = copy
            return name
        if present[name].SerializeToString() == copy.SerializeToString():
            return name
    raise ValueError(f"initializer {tensor.name} is defined twice with other values")


def _renamed(tensor: onnx.TensorProto, name: str) -> onnx.TensorProto:
    copy = onnx.TensorProto()
    copy.CopyFrom(tensor)
    copy.name = name
    return copy


def float_outputs(qdq: onnx.ModelProto) -> onnx.ModelProto:
    """A copy of `qdq` whose graph outputs skip a final Q -> DQ pair (ORT's all-ops CPU scheme
    rounds even the embeddings to 8 bits; nothing reads them as integers, so it is only loss)."""
    model = onnx.ModelProto()
    model.CopyFrom(qdq)
    producer = {o: n for n in model.graph.node for o in n.output}
    readers: Dict[str, int] = {}
    for node in model.graph.node:
        for name in node.input:
            readers[name] = readers.get(name, 0) + 1
    for output in model.graph.output:
        dq = producer.get(output.name)
        if dq is None or dq.op_type != "DequantizeLinear":
            continue
        q = producer.get(dq.input[0])
        if q is None or q.op_type != "QuantizeLinear":
            continue
        source = producer.get(q.input[0])
        if source is None or readers.get(q.input[0], 0) != 1 or readers.get(output.name, 0):
            continue  # the float value is read elsewhere too: leave the graph as it is
        source.output[list(source.output).index(q.input[0])] = output.name
        dq.output[0] = f"{output.name}{FLOAT_SUFFIX}.unused"
    return prune(model)


def prune(model: onnx.ModelProto) -> onnx.ModelProto:
    """Drop nodes whose outputs nobody reads, then initializers nobody reads (in place)."""
    outputs = {o.name for o in model.graph.output}
    while True:
        read = {i for n in model.graph.node for i in n.input} | outputs
        kept = [n for n in model.graph.node if any(o in read for o in n.output)]
        if len(kept) == len(model.graph.node):
            break
        del model.graph.node[:]
        model.graph.node.extend(kept)
    read = {i for n in model.graph.node for i in n.input}
    kept_inits = [i for i in model.graph.initializer if i.name in read]
    del model.graph.initializer[:]
    model.graph.initializer.extend(kept_inits)
    return model


def op_types(model: onnx.ModelProto) -> Dict[str, str]:
    return {n.name: n.op_type for n in model.graph.node}


@dataclass(frozen=True)
class TypedInt8:
    model: onnx.ModelProto
    raised_scales: int  # scale values raised to SMALLEST_NORMAL

    def describe(self) -> Dict[str, Any]:
        return {"opset": TYPED_OPSET, "between_qdq": "float16", "io": "float32 (casts inside)",
                "scales_raised_to_fp16_normal": self.raised_scales}


def to_strongly_typed(qdq: onnx.ModelProto) -> TypedInt8:
    """The opset-17 QDQ encoder -> its opset-19 form with FP16 outside the integer kernels."""
    model = onnx.ModelProto()
    model.CopyFrom(qdq)
    raised = _raise_small_scales(model)
    typed = to_fp16(version_converter.convert_version(model, TYPED_OPSET))
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
