"""The MAC counter on a graph small enough to count by hand."""

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from jersey_edge.bench.macs import count_macs  # noqa: E402


def tiny_graph() -> "onnx.ModelProto":
    """[N,3,8,8] -Conv 4x3x3x3 pad 1-> [N,4,8,8] -Conv 1x1 group 2 (4->6)-> [N,6,8,8]
    -GAP-> -Flatten-> [N,6] -Gemm 6->5-> [N,5] -MatMul 5->3-> [N,3]."""
    weights = {
        "w1": np.ones((4, 3, 3, 3), np.float32),
        "w2": np.ones((6, 2, 1, 1), np.float32),
        "g": np.ones((6, 5), np.float32),
        "m": np.ones((5, 3), np.float32),
    }
    nodes = [
        helper.make_node("Conv", ["x", "w1"], ["c1"], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c1"], ["r1"]),
        helper.make_node("Conv", ["r1", "w2"], ["c2"], group=2),
        helper.make_node("GlobalAveragePool", ["c2"], ["p"]),
        helper.make_node("Flatten", ["p"], ["f"], axis=1),
        helper.make_node("Gemm", ["f", "g"], ["y1"]),
        helper.make_node("MatMul", ["y1", "m"], ["y"]),
    ]
    graph = helper.make_graph(
        nodes, "tiny",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, 8, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 3])],
        [numpy_helper.from_array(w, name) for name, w in weights.items()],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


# per sample: conv1 4*8*8 outputs x 27 + conv2 6*8*8 x 2 + gemm 5 x 6 + matmul 3 x 5
PER_SAMPLE = 4 * 64 * 27 + 6 * 64 * 2 + 5 * 6 + 3 * 5


@pytest.mark.parametrize("batch", [1, 3])
def test_counts_conv_gemm_matmul_by_hand(batch):
    assert count_macs(tiny_graph(), batch=batch) == batch * PER_SAMPLE


def test_reads_a_path(tmp_path):
    path = tmp_path / "tiny.onnx"
    onnx.save(tiny_graph(), str(path))
    assert count_macs(path) == PER_SAMPLE


def test_unknown_shapes_are_an_error_not_a_wrong_count():
    model = tiny_graph()
    model.graph.node[0].input[1] = "missing_weight"  # a weight of unknown shape
    with pytest.raises(ValueError, match="Conv"):
        count_macs(model)
