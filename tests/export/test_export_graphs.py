"""The FP32/FP16 graphs: shapes, no training ops, no shape arithmetic but the batch axis."""

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from onnx import TensorProto

from jersey_edge.export.onnx_graphs import graph_report, masking_nodes, shape_reads, simplify
from jersey_edge.runtime.manifest import load_manifest


def test_fp32_graphs_are_clean_with_dynamic_batch_only(exported) -> None:
    graphs = load_manifest(exported.out).graphs
    encoder, head = graphs["encoder.onnx"], graphs["head.onnx"]
    size = exported.preprocess
    assert encoder["inputs"] == {"frames": ["batch", 3, size.height, size.width]}
    assert encoder["outputs"] == {"embeddings": ["batch", 256]}
    assert head["inputs"] == {"embeddings": ["batch", exported.max_frames, 256],
                              "mask": ["batch", exported.max_frames]}
    for name, report in graphs.items():
        # 17 parses on TensorRT 8.5; the strongly typed INT8 graph needs 19's FP16 scales
        assert report["opset"] == (19 if name == "encoder.int8.typed.onnx" else 17), name
        assert report["training_ops"] == [], name
        assert report["dynamic_non_batch_reads"] == [], name
    assert encoder["shape_reads"] == []  # the encoder has no shape arithmetic at all


def test_fp16_keeps_softmax_and_mask_arithmetic_in_fp32(exported) -> None:
    fp32 = onnx.load(str(exported.out / "head.onnx"))
    kept = masking_nodes(fp32)
    assert {n.op_type for n in fp32.graph.node if n.name in kept} >= {"Where", "Mul"}
    half = onnx.shape_inference.infer_shapes(onnx.load(str(exported.out / "head.fp16.onnx")))
    types = {v.name: v.type.tensor_type.elem_type for v in half.graph.value_info}
    softmax = next(n for n in half.graph.node if n.op_type == "Softmax")
    assert types[softmax.output[0]] == TensorProto.FLOAT
    gru = [n for n in half.graph.node if n.op_type == "GRU"]
    assert all(types[n.output[0]] == TensorProto.FLOAT16 for n in gru)
    assert [i.type.tensor_type.elem_type for i in half.graph.input] == [TensorProto.FLOAT] * 2


class _SamePad(torch.nn.Module):
    """TF-"SAME"-style padding computed from the input's static H/W at run time."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 4, 3, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        pad_h, pad_w = max((h + 1) // 2 * 2 + 1 - h, 0), max((w + 1) // 2 * 2 + 1 - w, 0)
        x = torch.nn.functional.pad(x, [pad_w // 2, pad_w - pad_w // 2,
                                        pad_h // 2, pad_h - pad_h // 2])
        return self.conv(x).flatten(1)


@pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::torch.jit.TracerWarning")
def test_simplify_folds_static_shape_arithmetic(tmp_path) -> None:
    path = tmp_path / "same.onnx"
    torch.onnx.export(_SamePad().eval(), (torch.zeros(2, 3, 11, 8),), str(path), dynamo=False,
                      opset_version=17, input_names=["x"], output_names=["y"],
                      dynamic_axes={"x": {0: "n"}, "y": {0: "n"}})
    raw = onnx.load(str(path))
    assert any(r.axes != (0,) for r in shape_reads(raw))  # H/W read at run time
    clean = simplify(onnx.load(str(path)))
    report = graph_report(clean)
    assert report["dynamic_non_batch_reads"] == [] and "Pad" not in report["nodes"]
    x = np.random.default_rng(0).normal(size=(3, 3, 11, 8)).astype(np.float32)
    before = ort.InferenceSession(raw.SerializeToString()).run(None, {"x": x})[0]
    after = ort.InferenceSession(clean.SerializeToString()).run(None, {"x": x})[0]
    np.testing.assert_allclose(before, after, atol=1e-6)
