"""Fold shape arithmetic on static dimensions out of a traced ONNX graph.

The TorchScript tracer records every `x.shape[i]` as Shape -> Gather, even when axis i is
static. onnxscript's optimizer folds shapes only when a whole shape is static or when the
index is 1-D, and it keeps ConstantOfShape on purpose, so with a dynamic batch axis chains
such as TF-"SAME" padding (Shape -> Gather -> Div -> Ceil -> ... -> Pad) survive. `simplify`
alternates two small folds with the optimizer until nothing changes:

  * a Gather from a Shape that picks only static axes becomes a Constant;
  * a ConstantOfShape whose shape is constant becomes a Constant;

then fuses constant zero Pads into the following Conv. Results are checked against the
unsimplified graph in tests (ORT outputs equal).
"""

from typing import Dict, List, Optional, Tuple

import numpy as np
import onnx
from onnx import helper, numpy_helper

MAX_ROUNDS = 16
# Only small shape-like constants are materialised; a big ConstantOfShape stays as it is.
MAX_FOLDED_ELEMENTS = 4096


def simplify(model: onnx.ModelProto) -> onnx.ModelProto:
    import onnxscript.optimizer
    import onnxscript.rewriter
    from onnxscript.rewriter.rules.common import (
        fuse_pad_into_conv_rule,
        normalize_pad_format_conv_rule,
    )

    model = onnxscript.optimizer.optimize(model)
    for _ in range(MAX_ROUNDS):
        model, folded = _fold_static_shapes(model)
        if not folded:
            break
        model = onnxscript.optimizer.optimize(model)
    model = onnxscript.rewriter.rewrite(
        model, pattern_rewrite_rules=[normalize_pad_format_conv_rule, fuse_pad_into_conv_rule]
    )
    model = onnxscript.optimizer.optimize(model)
    return onnx.shape_inference.infer_shapes(model, check_type=True, strict_mode=True)


def _fold_static_shapes(model: onnx.ModelProto) -> Tuple[onnx.ModelProto, int]:
    graph = onnx.shape_inference.infer_shapes(model).graph
    dims = static_dims(graph)
    consts = constants(graph)
    shapes: Dict[str, List[Optional[int]]] = {}
    for node in graph.node:
        if node.op_type == "Shape" and node.input[0] in dims:
            attrs = {a.name: a.i for a in node.attribute}
            shapes[node.output[0]] = dims[node.input[0]][attrs.get("start", 0):attrs.get("end")]
    nodes, folded = [], 0
    for node in model.graph.node:
        value = _folded_value(node, shapes, consts)
        if value is None:
            nodes.append(node)
            continue
        nodes.append(helper.make_node("Constant", [], list(node.output), name=node.name,
                                      value=numpy_helper.from_array(value)))
        folded += 1
    del model.graph.node[:]
    model.graph.node.extend(nodes)
    return model, folded


def _folded_value(node: onnx.NodeProto, shapes: Dict[str, List[Optional[int]]],
                  consts: Dict[str, np.ndarray]) -> Optional[np.ndarray]:
    if node.op_type == "Gather" and node.input[0] in shapes and node.input[1] in consts:
        if {a.name: a.i for a in node.attribute}.get("axis", 0) != 0:
            return None
        picked = np.take(np.array(shapes[node.input[0]], dtype=object), consts[node.input[1]])
        if any(v is None for v in np.atleast_1d(picked)):
            return None
        return np.array(picked, dtype=np.int64)
    if node.op_type == "ConstantOfShape" and node.input[0] in consts:
        shape = tuple(int(d) for d in consts[node.input[0]].reshape(-1))
        if int(np.prod(shape)) > MAX_FOLDED_ELEMENTS:
            return None
        fill = [numpy_helper.to_array(a.t) for a in node.attribute if a.name == "value"]
        scalar = fill[0].reshape(-1)[0] if fill else np.float32(0)
        return np.full(shape, scalar, dtype=np.asarray(scalar).dtype)
    return None


def static_dims(graph: onnx.GraphProto) -> Dict[str, List[Optional[int]]]:
    """Tensor name -> its dimensions, None where not a known integer."""
    out = {}
    for info in list(graph.value_info) + list(graph.input) + list(graph.output):
        tensor = info.type.tensor_type
        if tensor.HasField("shape"):
            out[info.name] = [d.dim_value if d.HasField("dim_value") else None
                              for d in tensor.shape.dim]
    return out


def constants(graph: onnx.GraphProto) -> Dict[str, np.ndarray]:
    out = {init.name: numpy_helper.to_array(init) for init in graph.initializer}
    for node in graph.node:
        if node.op_type == "Constant":
            for attr in node.attribute:
                if attr.name == "value":
                    out[node.output[0]] = numpy_helper.to_array(attr.t)
    return out
