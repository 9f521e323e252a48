"""The strongly typed INT8 encoder: FP16 between the Q/DQ pairs, the same numbers."""

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, numpy_helper

from jersey_edge.export.int8.qdq_graph import (
    QDQ_OPS,
    SMALLEST_NORMAL,
    TYPED_OPSET,
    to_strongly_typed,
)
from jersey_edge.runtime.artifacts import EMBEDDINGS, FRAMES
from tests.tools import tiny_artifacts

HEIGHT, WIDTH = 16, 8


@pytest.fixture(scope="module")
def qdq(tmp_path_factory) -> onnx.ModelProto:
    """A real symmetric per-channel QDQ graph from ONNX Runtime's quantizer."""
    root = tmp_path_factory.mktemp("qdq")
    onnx.save(tiny_artifacts.encoder_model(HEIGHT, WIDTH, 8), str(root / "fp32.onnx"))
    tiny_artifacts.quantize_encoder(root / "fp32.onnx", root / "qdq.onnx", HEIGHT, WIDTH)
    return onnx.load(str(root / "qdq.onnx"))


def types_of(model: onnx.ModelProto) -> dict:
    inferred = onnx.shape_inference.infer_shapes(model, strict_mode=True)
    graph = inferred.graph
    infos = list(graph.value_info) + list(graph.input) + list(graph.output)
    types = {v.name: v.type.tensor_type.elem_type for v in infos}
    types.update({i.name: i.data_type for i in graph.initializer})
    return types


def test_typed_graph_is_opset_19_with_fp16_around_every_qdq_pair(qdq):
    typed = to_strongly_typed(qdq).model
    onnx.checker.check_model(typed, full_check=True)
    assert next(o.version for o in typed.opset_import if o.domain in ("", "ai.onnx")) == TYPED_OPSET
    types = types_of(typed)
    nodes = [n for n in typed.graph.node if n.op_type in QDQ_OPS]
    assert len(nodes) == sum(n.op_type in QDQ_OPS for n in qdq.graph.node) > 0
    for node in nodes:
        assert types[node.input[1]] == TensorProto.FLOAT16, node.name  # the scale
        floating = node.input[0] if node.op_type == "QuantizeLinear" else node.output[0]
        assert types[floating] == TensorProto.FLOAT16, node.name  # what TensorRT computes in
        assert types[node.input[2]] == TensorProto.INT8  # symmetric, zero point 0
    assert types[FRAMES] == types[EMBEDDINGS] == TensorProto.FLOAT  # IO unchanged


def test_typed_graph_computes_what_the_qdq_graph_computes(qdq):
    """Both as written (fake quantization): ORT would otherwise run the FP32-scale graph
    through its own integer kernels, which it has no FP16-scale counterpart for."""
    frames = np.random.default_rng(0).normal(0, 1, (16, 3, HEIGHT, WIDTH)).astype(np.float32)
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL

    def run(model: onnx.ModelProto) -> np.ndarray:
        session = ort.InferenceSession(model.SerializeToString(), options,
                                       providers=["CPUExecutionProvider"])
        return session.run([EMBEDDINGS], {FRAMES: frames})[0]

    expected, got = run(qdq), run(to_strongly_typed(qdq).model)
    assert got.dtype == np.float32 and got.shape == expected.shape
    norms = np.linalg.norm(expected, axis=1) * np.linalg.norm(got, axis=1)
    cosine = (expected * got).sum(1) / norms
    assert cosine.min() > 0.9999


def test_scales_below_fp16_normal_are_raised_not_rounded_to_zero(qdq):
    model = onnx.ModelProto()
    model.CopyFrom(qdq)
    scale_name = next(n.input[1] for n in model.graph.node if n.op_type == "DequantizeLinear")
    index, tensor = next((i, t) for i, t in enumerate(model.graph.initializer)
                         if t.name == scale_name)
    values = numpy_helper.to_array(tensor).copy()
    values.flat[0] = 1e-9  # would be 0 in FP16: TensorRT refuses a zero scale
    model.graph.initializer[index].CopyFrom(numpy_helper.from_array(values, scale_name))
    typed = to_strongly_typed(model)
    assert typed.raised_scales == 1 and typed.describe()["scales_raised_to_fp16_normal"] == 1
    fixed = next(t for t in typed.model.graph.initializer if t.name == scale_name)
    assert numpy_helper.to_array(fixed).flat[0] == np.float16(SMALLEST_NORMAL)
    original = next(t for t in qdq.graph.initializer if t.name == scale_name)
    assert numpy_helper.to_array(original).flat[0] != 1e-9  # the input graph is untouched
