"""A tiny but real artifacts folder: encoder/head ONNX graphs with the package's tensor names.

The graphs are small stand-ins with the real interfaces (dynamic batch, fixed T, mask input)
so engine building and TensorRT-vs-ONNX-Runtime parity can be tested in seconds:

- encoder: frames [N,3,H,W] -> Conv -> Relu -> GlobalAveragePool -> MatMul -> embeddings [N,E]
- head: embeddings [B,T,E], mask [B,T] -> masked softmax attention pooling -> tens [B,11],
  ones [B,10], attention [B,T]

`encoder.int8.onnx` is a real symmetric per-channel QDQ graph from ONNX Runtime's static
quantizer (the TensorRT flavour), `encoder.int8.typed.onnx` its strongly typed form as export
writes it. The ".fp16" graphs are the FP32 graphs under the FP16 name:
enough to exercise the FP16 builder flag on a weakly typed build, not an FP16 graph.
"""

from __future__ import annotations

from pathlib import Path
from typing import Dict, List, Optional

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from jersey_edge.core.preprocess import PreprocessConfig
from jersey_edge.runtime.artifacts import (
    ATTENTION,
    EMBEDDINGS,
    FRAMES,
    MASK,
    ONES,
    TENS,
    graphs_for,
    onnx_name,
)
from jersey_edge.runtime.manifest import Manifest, write_manifest

OPSET = 17
IR_VERSION = 8  # what opset 17 needs; newer onnx writes IRs older runtimes refuse


def _const(name: str, value: np.ndarray) -> onnx.TensorProto:
    return numpy_helper.from_array(np.asarray(value), name)


def _model(graph: onnx.GraphProto) -> onnx.ModelProto:
    opsets = [helper.make_opsetid("", OPSET)]
    return helper.make_model(graph, opset_imports=opsets, ir_version=IR_VERSION)


def encoder_model(height: int, width: int, embed_dim: int, seed: int = 0) -> onnx.ModelProto:
    rng = np.random.default_rng(seed)
    channels = 6
    inits = [
        _const("conv_w", rng.normal(0, 0.3, (channels, 3, 3, 3)).astype(np.float32)),
        _const("conv_b", rng.normal(0, 0.1, channels).astype(np.float32)),
        _const("proj_w", rng.normal(0, 0.3, (channels, embed_dim)).astype(np.float32)),
    ]
    nodes = [
        helper.make_node("Conv", [FRAMES, "conv_w", "conv_b"], ["c"], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c"], ["r"]),
        helper.make_node("GlobalAveragePool", ["r"], ["p"]),
        helper.make_node("Flatten", ["p"], ["f"], axis=1),
        helper.make_node("MatMul", ["f", "proj_w"], [EMBEDDINGS]),
    ]
    graph = helper.make_graph(
        nodes,
        "tiny_encoder",
        [helper.make_tensor_value_info(FRAMES, TensorProto.FLOAT, ["N", 3, height, width])],
        [helper.make_tensor_value_info(EMBEDDINGS, TensorProto.FLOAT, ["N", embed_dim])],
        inits,
    )
    return _model(graph)


def head_model(frames: int, embed_dim: int, seed: int = 1) -> onnx.ModelProto:
    rng = np.random.default_rng(seed)
    inits = [
        _const("att_w", rng.normal(0, 0.5, (embed_dim, 1)).astype(np.float32)),
        _const("tens_w", rng.normal(0, 0.5, (embed_dim, 11)).astype(np.float32)),
        _const("ones_w", rng.normal(0, 0.5, (embed_dim, 10)).astype(np.float32)),
        _const("one", np.array(1.0, np.float32)),
        _const("big", np.array(1e4, np.float32)),
        _const("ax1", np.array([1], np.int64)),
        _const("ax2", np.array([2], np.int64)),
    ]
    nodes = [
        helper.make_node("MatMul", [EMBEDDINGS, "att_w"], ["s3"]),
        helper.make_node("Squeeze", ["s3", "ax2"], ["s"]),
        helper.make_node("Sub", [MASK, "one"], ["m1"]),
        helper.make_node("Mul", ["m1", "big"], ["penalty"]),
        helper.make_node("Add", ["s", "penalty"], ["masked"]),
        helper.make_node("Softmax", ["masked"], [ATTENTION], axis=1),
        helper.make_node("Unsqueeze", [ATTENTION, "ax1"], ["a3"]),
        helper.make_node("MatMul", ["a3", EMBEDDINGS], ["pooled3"]),
        helper.make_node("Squeeze", ["pooled3", "ax1"], ["pooled"]),
        helper.make_node("MatMul", ["pooled", "tens_w"], [TENS]),
        helper.make_node("MatMul", ["pooled", "ones_w"], [ONES]),
    ]
    graph = helper.make_graph(
        nodes,
        "tiny_head",
        [
            helper.make_tensor_value_info(EMBEDDINGS, TensorProto.FLOAT, ["B", frames, embed_dim]),
            helper.make_tensor_value_info(MASK, TensorProto.FLOAT, ["B", frames]),
        ],
        [
            helper.make_tensor_value_info(TENS, TensorProto.FLOAT, ["B", 11]),
            helper.make_tensor_value_info(ONES, TensorProto.FLOAT, ["B", 10]),
            helper.make_tensor_value_info(ATTENTION, TensorProto.FLOAT, ["B", frames]),
        ],
        inits,
    )
    return _model(graph)


def quantize_encoder(fp32: Path, out: Path, height: int, width: int) -> None:
    """Symmetric S8 QDQ, per-channel weights: the TensorRT flavour of encoder.int8.onnx."""
    from onnxruntime.quantization import (
        CalibrationDataReader,
        QuantFormat,
        QuantType,
        quantize_static,
    )

    class Frames(CalibrationDataReader):
        def __init__(self) -> None:
            rng = np.random.default_rng(2)
            self._batches = iter(
                [{FRAMES: rng.normal(0, 1, (2, 3, height, width)).astype(np.float32)}
                 for _ in range(4)]
            )

        def get_next(self) -> Optional[Dict[str, np.ndarray]]:
            return next(self._batches, None)

    quantize_static(
        str(fp32), str(out), Frames(), quant_format=QuantFormat.QDQ, per_channel=True,
        activation_type=QuantType.QInt8, weight_type=QuantType.QInt8,
        extra_options={
            "ActivationSymmetric": True,
            "WeightSymmetric": True,
            "QuantizeBias": False,  # TensorRT only dequantizes activation types, not INT32
        },
    )


def write_typed_encoder(qdq: Path) -> Path:
    """The strongly typed form of a QDQ encoder, beside it (needs the export's extras)."""
    from jersey_edge.export.int8.qdq_graph import to_strongly_typed

    target = qdq.with_name(graphs_for("int8", "tensorrt-typed").encoder)
    onnx.save(to_strongly_typed(onnx.load(str(qdq))).model, str(target))
    return target


def write_tiny_artifacts(
    root: Path, *, max_frames: int = 4, embed_dim: int = 8, height: int = 16, width: int = 8,
    int8: bool = True,
) -> Path:
    """Write graphs + manifest.json into `root` (created) and return it."""
    root.mkdir(parents=True, exist_ok=True)
    names: List[str] = []
    for part, model in (
        ("encoder", encoder_model(height, width, embed_dim)),
        ("head", head_model(max_frames, embed_dim)),
    ):
        for precision in ("fp32", "fp16"):
            onnx.save(model, str(root / onnx_name(part, precision)))
            names.append(onnx_name(part, precision))
    if int8:
        quantize_encoder(root / "encoder.onnx", root / onnx_name("encoder", "int8"), height, width)
        names.append(onnx_name("encoder", "int8"))
        typed = write_typed_encoder(root / onnx_name("encoder", "int8"))
        names.append(typed.name)
    manifest = Manifest(root, model={"embed_dim": embed_dim},
                        preprocess=PreprocessConfig(height=height, width=width),
                        labels={"tens": 11, "ones": 10}, max_frames=max_frames)
    write_manifest(manifest, names)
    return root
