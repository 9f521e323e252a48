"""The two tiny ONNX graphs the repository adds around the export's own: `pad_embeddings`
(one sequence's [n,E] -> the head's padded [1,T,E] + mask, which ensembles cannot do) and
`track_window` (a track's last T embeddings, kept as Triton implicit state)."""

from dataclasses import dataclass
from typing import List, Union

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from ...runtime.artifacts import EMBEDDINGS, MASK
from .config import (
    FRAME_EMBEDDINGS,
    PAD_MODEL,
    WINDOW_IN,
    WINDOW_MASK_IN,
    WINDOW_MASK_OUT,
    WINDOW_MODEL,
    WINDOW_OUT,
    TensorSpec,
)


@dataclass(frozen=True)
class HelperShape:
    """What the helper graphs need: frames per sequence, embedding width, tensor types."""

    max_frames: int
    embed_dim: int
    frame_embeddings: TensorSpec  # the encoder's output
    embeddings: TensorSpec  # the head's inputs
    mask: TensorSpec
    ir_version: int
    opset: int


def _constant(name: str, values: object, elem_type: int) -> TensorProto:
    dtype = helper.tensor_dtype_to_np_dtype(elem_type)
    return numpy_helper.from_array(np.asarray(values, dtype=dtype), name)


def _cast(source: str, target: str, from_type: int, to_type: int) -> List[onnx.NodeProto]:
    if from_type == to_type:
        return [helper.make_node("Identity", [source], [target])]
    return [helper.make_node("Cast", [source], [target], to=to_type)]


def _model(graph: onnx.GraphProto, shape: HelperShape) -> onnx.ModelProto:
    """Stamped with the head graph's IR version and opset: whatever ONNX Runtime serves the
    head serves these."""
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", shape.opset)],
                              producer_name="jersey-edge")
    model.ir_version = shape.ir_version
    onnx.checker.check_model(model)
    return model


def pad_embeddings_graph(shape: HelperShape) -> onnx.ModelProto:
    """frame_embeddings [n,E] (1 <= n <= T) -> embeddings [1,T,E] right-padded with zeros and
    mask [1,T] (1 = real frame). More than T frames fail in the node named for it."""
    t, e = shape.max_frames, shape.embed_dim
    emb, mask = shape.embeddings.elem_type, shape.mask.elem_type
    nodes = [
        *_cast(FRAME_EMBEDDINGS, "rows", shape.frame_embeddings.elem_type, emb),
        helper.make_node("Shape", ["rows"], ["n"], start=0, end=1),
        helper.make_node("Sub", ["max_frames", "n"], ["missing"]),
        helper.make_node("Concat", ["missing", "embed_dim"], ["padding_shape"], axis=0),
        helper.make_node("ConstantOfShape", ["padding_shape"], ["padding"],
                         name=f"padding_fails_for_more_than_{t}_frames",
                         value=_constant("zero", [0], emb)),
        helper.make_node("Concat", ["rows", "padding"], ["padded"], axis=0),
        helper.make_node("Unsqueeze", ["padded", "axis0"], [EMBEDDINGS]),
        helper.make_node("Less", ["slots", "n"], ["real"]),
        helper.make_node("Cast", ["real"], ["real_slots"], to=mask),
        helper.make_node("Unsqueeze", ["real_slots", "axis0"], [MASK]),
    ]
    constants = [
        _constant("max_frames", [t], TensorProto.INT64),
        _constant("embed_dim", [e], TensorProto.INT64),
        _constant("axis0", [0], TensorProto.INT64),
        _constant("slots", np.arange(t), TensorProto.INT64),
    ]
    graph = helper.make_graph(
        nodes, PAD_MODEL,
        [helper.make_tensor_value_info(FRAME_EMBEDDINGS, shape.frame_embeddings.elem_type,
                                       ["frames", e])],
        [helper.make_tensor_value_info(EMBEDDINGS, emb, [1, t, e]),
         helper.make_tensor_value_info(MASK, mask, [1, t])],
        constants)
    return _model(graph, shape)


def track_window_graph(shape: HelperShape) -> onnx.ModelProto:
    """One step of a track's window, batched over tracks: the new frame's embedding [b,E]
    and the window state [b,T,E] + mask [b,T] -> the next window and mask, given both as
    the head's inputs and as the next state.

    As `TrackStream._window_with`: the real frames come first; while fewer than T, the new
    one fills the next slot, then the oldest drops out. Zero state is an empty window.
    """
    t, e = shape.max_frames, shape.embed_dim
    emb, mask = shape.embeddings.elem_type, shape.mask.elem_type
    nodes = [
        *_cast(FRAME_EMBEDDINGS, "new_row", shape.frame_embeddings.elem_type, emb),
        helper.make_node("Unsqueeze", ["new_row", "axis1"], ["new_rows"]),
        helper.make_node("Concat", [WINDOW_IN, "new_rows"], ["extended"], axis=1),
        # count: real frames held; shift: 1 when the window is full and the oldest drops out
        helper.make_node("ReduceSum", [WINDOW_MASK_IN, "axis1"], ["count"], keepdims=1),
        helper.make_node("Add", ["count", "one"], ["grown"]),
        helper.make_node("Sub", ["grown", "max_frames"], ["overflow"]),
        helper.make_node("Max", ["overflow", "zero"], ["shift"]),
        helper.make_node("Sub", ["grown", "shift"], ["new_count"]),
        helper.make_node("Sub", ["new_count", "one"], ["new_slot"]),
        # slot s of the next window reads slot s + shift of the old one, the new frame
        # (extended slot T) at new_slot, and anything past new_count is zeroed below
        helper.make_node("Less", ["slots", "new_slot"], ["kept"]),
        helper.make_node("Add", ["slots", "shift"], ["moved"]),
        helper.make_node("Where", ["kept", "moved", "max_frames"], ["source_slot"]),
        helper.make_node("Cast", ["source_slot"], ["source_index"], to=TensorProto.INT64),
        helper.make_node("Unsqueeze", ["source_index", "axis2"], ["source_column"]),
        helper.make_node("Shape", [WINDOW_IN], ["window_shape"]),
        helper.make_node("Expand", ["source_column", "window_shape"], ["gather_index"]),
        helper.make_node("GatherElements", ["extended", "gather_index"], ["gathered"], axis=1),
        helper.make_node("Less", ["slots", "new_count"], ["real"]),
        helper.make_node("Cast", ["real"], ["next_mask"], to=mask),
        helper.make_node("Unsqueeze", ["next_mask", "axis2"], ["next_mask_column"]),
        *_cast("next_mask_column", "keep", mask, emb),
        helper.make_node("Mul", ["gathered", "keep"], ["next_window"]),
        helper.make_node("Identity", ["next_window"], [EMBEDDINGS]),
        helper.make_node("Identity", ["next_window"], [WINDOW_OUT]),
        helper.make_node("Identity", ["next_mask"], [MASK]),
        helper.make_node("Identity", ["next_mask"], [WINDOW_MASK_OUT]),
    ]
    constants = [
        _constant("axis1", [1], TensorProto.INT64),
        _constant("axis2", [2], TensorProto.INT64),
        _constant("one", [1], mask),
        _constant("zero", [0], mask),
        _constant("max_frames", [t], mask),
        _constant("slots", np.arange(t), mask),
    ]
    window: List[Union[str, int]] = ["tracks", t, e]
    graph = helper.make_graph(
        nodes, WINDOW_MODEL,
        [helper.make_tensor_value_info(FRAME_EMBEDDINGS, shape.frame_embeddings.elem_type,
                                       ["tracks", e]),
         helper.make_tensor_value_info(WINDOW_IN, emb, window),
         helper.make_tensor_value_info(WINDOW_MASK_IN, mask, ["tracks", t])],
        [helper.make_tensor_value_info(EMBEDDINGS, emb, window),
         helper.make_tensor_value_info(MASK, mask, ["tracks", t]),
         helper.make_tensor_value_info(WINDOW_OUT, emb, window),
         helper.make_tensor_value_info(WINDOW_MASK_OUT, mask, ["tracks", t])],
        constants)
    return _model(graph, shape)
