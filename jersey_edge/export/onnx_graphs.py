"""PyTorch encoder/head -> two clean FP32 ONNX graphs (opset 17, dynamic batch only).

The TorchScript-based exporter is used (`dynamo=False`): it exports the head's gather-based
reversed GRU exactly and at opset 17, which TensorRT 8.5 (JetPack 5) still parses; the dynamo
exporter emits opset 18 and its down-conversion breaks on ReduceMean/Pad. What the tracer
leaves behind (Shape -> Gather -> arithmetic chains reading dimensions that are in fact
static, e.g. TF-"SAME" padding) is folded by `simplify`, so the graphs keep shape arithmetic
only on the batch axis.
"""

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Set, Tuple

import numpy as np
import onnx
import torch
from onnx import TensorProto, helper, numpy_helper
from torch import nn

from ..core.fileio import atomic_path
from ..core.preprocess import PreprocessConfig
from ..runtime.artifacts import ATTENTION, EMBEDDINGS, FRAMES, MASK, ONES, TENS

OPSET = 17
BATCH = "batch"


@dataclass(frozen=True)
class GraphSpec:
    """What one graph takes and gives; dynamic axes are the batch axes only."""

    inputs: Tuple[str, ...]
    outputs: Tuple[str, ...]

    def dynamic_axes(self) -> Dict[str, Dict[int, str]]:
        return {name: {0: BATCH} for name in self.inputs + self.outputs}


ENCODER = GraphSpec(inputs=(FRAMES,), outputs=(EMBEDDINGS,))
HEAD = GraphSpec(inputs=(EMBEDDINGS, MASK), outputs=(TENS, ONES, ATTENTION))


def export_encoder(encoder: nn.Module, target: Path,
                   preprocess: PreprocessConfig) -> onnx.ModelProto:
    """[N,3,H,W] -> [N,E]. Example batch 2, so nothing specialises on a batch of one."""
    example = torch.zeros(2, 3, preprocess.height, preprocess.width)
    return _export(encoder, (example,), ENCODER, target)


def export_head(head: nn.Module, target: Path, *, max_frames: int,
                embed_dim: int) -> onnx.ModelProto:
    """[B,T,E] + [B,T] -> tens, ones, attention, with T fixed to max_frames.

    The example mask has sequences of different lengths, so no masking branch is traced away.
    """
    embeddings = torch.zeros(2, max_frames, embed_dim)
    mask = torch.zeros(2, max_frames)
    mask[0, :] = 1.0
    mask[1, : max(1, max_frames // 2)] = 1.0
    return _export(head, (embeddings, mask), HEAD, target)


def _export(module: nn.Module, args: Tuple[torch.Tensor, ...], spec: GraphSpec,
            target: Path) -> onnx.ModelProto:
    module.eval()
    with atomic_path(target) as raw, torch.no_grad(), warnings.catch_warnings():
        # The exporter warns that it is deprecated and that GRUs trace with a fixed batch
        # layout; both are expected here and only clutter the CLI output.
        warnings.simplefilter("ignore")
        torch.onnx.export(
            module, args, str(raw), dynamo=False, opset_version=OPSET,
            do_constant_folding=True, input_names=list(spec.inputs),
            output_names=list(spec.outputs), dynamic_axes=spec.dynamic_axes(),
        )
        model = simplify(onnx.load(str(raw)))
        onnx.save(model, str(raw))
    return model


def save_graph(model: onnx.ModelProto, target: Path) -> None:
    with atomic_path(target) as tmp:
        onnx.save(model, str(tmp))


def check_graph(model: onnx.ModelProto) -> None:
    """ONNX's full checker (includes strict shape inference); raises on any problem."""
    onnx.checker.check_model(model, full_check=True)


TRAINING_OPS = ("Dropout", "BatchNormalization")


def graph_report(model: onnx.ModelProto) -> Dict[str, object]:
    """What the manifest records about a graph: opset, IO shapes, node counts, leftovers.

    `shape_reads` lists each dimension the graph still reads at run time (Shape nodes) and
    `dynamic_non_batch_reads` those among them that are not the batch axis: it must be empty.
    """
    counts: Dict[str, int] = {}
    for node in model.graph.node:
        counts[node.op_type] = counts.get(node.op_type, 0) + 1
    reads = shape_reads(model)
    return {
        "opset": next(o.version for o in model.opset_import if o.domain in ("", "ai.onnx")),
        "inputs": {i.name: _dims(i) for i in model.graph.input},
        "outputs": {o.name: _dims(o) for o in model.graph.output},
        "nodes": dict(sorted(counts.items())),
        "training_ops": sorted(op for op in counts if op in TRAINING_OPS),
        "shape_reads": [r.describe() for r in reads],
        "dynamic_non_batch_reads": [r.describe() for r in reads if r.non_batch()],
    }


def _dims(info: onnx.ValueInfoProto) -> List[object]:
    return [d.dim_value if d.HasField("dim_value") else d.dim_param
            for d in info.type.tensor_type.shape.dim]


@dataclass(frozen=True)
class ShapeRead:
    """One use of a Shape node's output: which axes of which tensor, and which are dynamic."""

    tensor: str
    axes: Tuple[int, ...]
    dynamic: Tuple[int, ...]
    consumer: str

    def non_batch(self) -> bool:
        return any(axis != 0 for axis in self.dynamic)

    def describe(self) -> str:
        return f"{self.tensor}{list(self.axes)} -> {self.consumer} (dynamic: {list(self.dynamic)})"


def shape_reads(model: onnx.ModelProto) -> List[ShapeRead]:
    graph = onnx.shape_inference.infer_shapes(model).graph
    dims, consts = static_dims(graph), constants(graph)
    consumers: Dict[str, List[onnx.NodeProto]] = {}
    for node in graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    reads = []
    for node in graph.node:
        if node.op_type != "Shape":
            continue
        tensor = node.input[0]
        shape = dims.get(tensor)
        attrs = {a.name: a.i for a in node.attribute}
        rank = len(shape) if shape is not None else 0
        axes = list(range(rank))[attrs.get("start", 0):attrs.get("end")]
        for user in consumers.get(node.output[0], []):
            read = axes
            if user.op_type == "Gather" and user.input[1] in consts and axes:
                read = [axes[int(i)] for i in np.atleast_1d(consts[user.input[1]])]
            dynamic = [a for a in read if shape is None or shape[a] is None]
            if shape is None:
                dynamic = [-1]  # unknown rank: cannot prove anything
            reads.append(ShapeRead(tensor, tuple(read), tuple(dynamic), user.op_type))
    return reads


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
