"""FP32 graph -> explicitly FP16 graph with FP32 inputs/outputs and FP32 islands where needed.

TensorRT 11 builds only strongly typed networks, so FP16 must be in the ONNX itself. What
stays FP32 (through `op_block_list` / `node_block_list` of onnxconverter-common):
  * Softmax: exp of FP16 scores loses the small attention weights first;
  * the masking arithmetic: every node that applies the frame mask to float data (the
    fill of padded scores, the multiply by the mask, the float cast of the mask), so masked
    slots stay exact zeros and the fill value is never rounded;
  * onnxconverter-common's default block list (ops without FP16 kernels in general).
ONNX Runtime's CPU provider runs everything else in FP16 (it inserts casts itself around the
few kernels it lacks, GRU among them), so the graph is checkable on any machine.
"""

import warnings
from typing import Dict, List, Set

import onnx
from onnx import TensorProto

from ..runtime.artifacts import MASK

FP32_OPS = ("Softmax",)


def to_fp16(model: onnx.ModelProto) -> onnx.ModelProto:
    from onnxconverter_common import float16

    blocked_nodes = masking_nodes(model)
    with warnings.catch_warnings():  # one warning per weight clamped to FP16's range
        warnings.simplefilter("ignore", UserWarning)
        return float16.convert_float_to_float16(
            model,
            keep_io_types=True,
            op_block_list=sorted(set(float16.DEFAULT_OP_BLOCK_LIST) | set(FP32_OPS)),
            node_block_list=blocked_nodes,
        )


def masking_nodes(model: onnx.ModelProto) -> List[str]:
    """Names of nodes that combine a mask-only tensor with float data (empty without MASK).

    A tensor is mask-only when it is computed from the MASK input and constants alone.
    """
    graph = model.graph
    if MASK not in {i.name for i in graph.input}:
        return []
    constants = {i.name for i in graph.initializer}
    constants |= {n.output[0] for n in graph.node if n.op_type == "Constant"}
    types = _value_types(model)
    mask_only: Set[str] = {MASK}
    blocked = []
    for node in graph.node:  # graph nodes are topologically sorted
        inputs = [i for i in node.input if i]
        if inputs and all(i in mask_only or i in constants for i in inputs):
            mask_only.update(node.output)
        if any(i in mask_only for i in inputs) and _has_float_output(node, types):
            blocked.append(node.name)
    return blocked


def _has_float_output(node: onnx.NodeProto, types: Dict[str, int]) -> bool:
    if node.op_type == "Cast":
        to = next(a.i for a in node.attribute if a.name == "to")
        return to == TensorProto.FLOAT
    return any(types.get(out) == TensorProto.FLOAT for out in node.output)


def _value_types(model: onnx.ModelProto) -> Dict[str, int]:
    graph = model.graph
    infos = list(graph.value_info) + list(graph.output) + list(graph.input)
    return {v.name: v.type.tensor_type.elem_type for v in infos}
