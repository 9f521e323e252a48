"""The two INT8 schemes: Q/DQ where TensorRT wants it, zero points as each target needs."""

import json
from pathlib import Path
from typing import Dict, List

import numpy as np
import onnx
from onnx import TensorProto, numpy_helper


def _load(out: Path, name: str):
    model = onnx.load(str(out / name))
    producers = {o: n for n in model.graph.node for o in n.output}
    inits = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    return model, producers, inits


def _zero_points(model: onnx.ModelProto, inits: Dict[str, np.ndarray]) -> List[np.ndarray]:
    return [inits[n.input[2]] for n in model.graph.node
            if n.op_type in ("QuantizeLinear", "DequantizeLinear") and len(n.input) > 2]


def test_tensorrt_scheme_has_qdq_on_every_conv_input_and_weight(exported) -> None:
    model, producers, inits = _load(exported.out, "encoder.int8.onnx")
    recipe = json.loads((exported.out / "manifest.json").read_text())["int8"]["encoder"]
    left_float = set(recipe["tensorrt"]["recipe"]["float_nodes"])  # mixed precision
    convs = [n for n in model.graph.node if n.op_type == "Conv" and n.name not in left_float]
    assert convs
    for conv in convs:
        data, weight = conv.input[0], conv.input[1]
        assert producers[data].op_type == "DequantizeLinear", conv.name
        assert producers[weight].op_type == "DequantizeLinear", conv.name
        # FP32 weight behind a Q -> DQ pair, as TensorRT 8.x requires; biases stay FP32
        assert producers[producers[weight].input[0]].op_type == "QuantizeLinear"
        if len(conv.input) > 2:
            assert conv.input[2] in inits


def test_tensorrt_scheme_is_symmetric_int8_everywhere(exported) -> None:
    model, _, inits = _load(exported.out, "encoder.int8.onnx")
    zero_points = _zero_points(model, inits)
    assert zero_points
    assert all(zp.dtype == np.int8 and not zp.any() for zp in zero_points)
    per_channel = [inits[n.input[1]] for n in model.graph.node
                   if n.op_type == "DequantizeLinear" and inits.get(n.input[1]) is not None
                   and inits[n.input[1]].size > 1]
    assert per_channel  # per-channel weight scales


def test_cpu_scheme_has_uint8_activations_and_int8_weights(exported) -> None:
    model, _, inits = _load(exported.out, "encoder.int8.cpu.onnx")
    quantize_types = {inits[n.input[2]].dtype for n in model.graph.node
                      if n.op_type == "QuantizeLinear"}
    assert quantize_types == {np.dtype(np.uint8)}
    weight_types = {i.data_type for i in model.graph.initializer
                    if i.data_type in (TensorProto.INT8, TensorProto.UINT8) and len(i.dims) == 4}
    assert weight_types == {TensorProto.INT8}


def test_tensorrt_scheme_pairs_are_dedicated_and_biases_stay_float(exported) -> None:
    model, producers, inits = _load(exported.out, "encoder.int8.onnx")
    readers: Dict[str, int] = {}
    for node in model.graph.node:
        for name in node.input:
            readers[name] = readers.get(name, 0) + 1
    dequantize = [n for n in model.graph.node if n.op_type == "DequantizeLinear"]
    assert all(readers.get(n.output[0], 0) == 1 for n in dequantize)  # one consumer per pair
    int32 = [n for n in dequantize if n.input[0] in inits
             and inits[n.input[0]].dtype == np.int32]
    assert int32 == []  # no INT32 bias DequantizeLinear (TensorRT's parser rejects it)
