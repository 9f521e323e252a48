"""Multiply-accumulates of an ONNX graph, read from the graph itself.

Why count rather than quote "0.4 GFLOPs": the encoder runs at 160x96, not 224x224, and the
projection layer is ours; only the exported graph knows what the backend actually computes.
Achieved GFLOP/s = 2 x MACs / encoder time, set against the machine's sgemm peak, says how
far from the hardware the encoder runs.
"""

from math import prod
from pathlib import Path
from typing import Any, Callable, Dict, Sequence, Union

Shape = Sequence[int]
Shapes = Dict[str, Shape]


def _conv(node: Any, shapes: Shapes) -> int:
    """Weight [C_out, C_in/groups, k...]: each output element is C_in/groups x prod(k) MACs."""
    return prod(shapes[node.input[1]][1:])


def _gemm(node: Any, shapes: Shapes) -> int:
    a = shapes[node.input[0]]
    trans_a = next((attr.i for attr in node.attribute if attr.name == "transA"), 0)
    return a[0] if trans_a else a[1]


def _matmul(node: Any, shapes: Shapes) -> int:
    return shapes[node.input[0]][-1]


# op type -> MACs per output element; all other ops are counted as free.
MACS_PER_OUTPUT: Dict[str, Callable[[Any, Shapes], int]] = {
    "Conv": _conv,
    "Gemm": _gemm,
    "MatMul": _matmul,
}


def count_macs(model: Union[str, Path, bytes, Any], batch: int = 1) -> int:
    """Sum over Conv/Gemm/MatMul nodes of output elements x MACs per output element, with
    every dynamic input dimension set to `batch` for shape inference.

    `model`: an `onnx.ModelProto`, its serialized bytes, or a path to one. Raises ValueError
    when a shape stays unknown after inference (the count would silently be wrong otherwise).
    """
    import onnx

    if isinstance(model, bytes):
        model = onnx.load_model_from_string(model)
    elif not isinstance(model, onnx.ModelProto):
        model = onnx.load(str(model))
    fixed = onnx.ModelProto()
    fixed.CopyFrom(model)
    for value in fixed.graph.input:
        for dim in value.type.tensor_type.shape.dim:
            if not dim.HasField("dim_value"):
                dim.dim_value = batch
    inferred = onnx.shape_inference.infer_shapes(fixed, data_prop=True)
    shapes = _shapes(inferred.graph)
    total = 0
    for node in inferred.graph.node:
        per_output = MACS_PER_OUTPUT.get(node.op_type)
        if per_output is None:
            continue
        try:
            total += prod(shapes[node.output[0]]) * per_output(node, shapes)
        except KeyError as exc:
            raise ValueError(f"{node.op_type} node {node.name!r}: shape of {exc} unknown "
                             "after shape inference") from None
    return total


def _shapes(graph: Any) -> Shapes:
    """Fully known shapes of every tensor in the graph (initialisers, inputs, intermediates)."""
    shapes: Shapes = {init.name: tuple(init.dims) for init in graph.initializer}
    for value in (*graph.input, *graph.value_info, *graph.output):
        dims = value.type.tensor_type.shape.dim
        if value.type.HasField("tensor_type") and all(d.HasField("dim_value") for d in dims):
            shapes[value.name] = tuple(d.dim_value for d in dims)
    return shapes
