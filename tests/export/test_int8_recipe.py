"""The INT8 recipe's parts on a small conv net: leaving nodes in float, bias correction,
sensitivity and mixed precision, in both QDQ schemes."""

from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from jersey_edge.export.int8.bias_correction import bias_shifts, corrected
from jersey_edge.export.int8.qdq_graph import QDQ_OPS, float_outputs, leave_float, quantized_nodes
from jersey_edge.export.int8.quantize import CPU, TENSORRT, quantize_encoder
from jersey_edge.export.int8.sensitivity import (
    MixedPrecisionConfig,
    choose_float_nodes,
    input_sqnr,
    measure,
)
from jersey_edge.export.probe import Fidelity, embeddings
from jersey_edge.runtime.artifacts import EMBEDDINGS, FRAMES


def _net(seed: int = 0) -> onnx.ModelProto:
    """frames -> Conv -> Clip(0,6) -> depthwise Conv -> Clip -> GAP -> Flatten -> Gemm."""
    rng = np.random.default_rng(seed)
    scales = np.logspace(-3, 0.5, 8).astype(np.float32)  # BN-folded: channel ranges far apart
    inits = [
        numpy_helper.from_array(rng.normal(0, 0.5, (8, 3, 3, 3)).astype(np.float32)
                                * scales[:, None, None, None], "w1"),
        numpy_helper.from_array(rng.normal(0.2, 0.1, 8).astype(np.float32), "b1"),
        numpy_helper.from_array(rng.normal(0, 1.0, (8, 1, 3, 3)).astype(np.float32), "w2"),
        numpy_helper.from_array(rng.normal(0, 0.1, 8).astype(np.float32), "b2"),
        numpy_helper.from_array(rng.normal(0, 0.5, (6, 8)).astype(np.float32), "w3"),
        numpy_helper.from_array(rng.normal(0, 0.1, 6).astype(np.float32), "b3"),
        numpy_helper.from_array(np.array(0.0, np.float32), "lo"),
        numpy_helper.from_array(np.array(6.0, np.float32), "hi"),
    ]
    nodes = [
        helper.make_node("Conv", [FRAMES, "w1", "b1"], ["c1"], name="conv1", pads=[1, 1, 1, 1]),
        helper.make_node("Clip", ["c1", "lo", "hi"], ["a1"], name="clip1"),
        helper.make_node("Conv", ["a1", "w2", "b2"], ["c2"], name="dw", group=8,
                         pads=[1, 1, 1, 1]),
        helper.make_node("Clip", ["c2", "lo", "hi"], ["a2"], name="clip2"),
        helper.make_node("GlobalAveragePool", ["a2"], ["p"], name="pool"),
        helper.make_node("Flatten", ["p"], ["f"], name="flatten", axis=1),
        helper.make_node("Gemm", ["f", "w3", "b3"], [EMBEDDINGS], name="proj", transB=1),
    ]
    graph = helper.make_graph(
        nodes, "net",
        [helper.make_tensor_value_info(FRAMES, TensorProto.FLOAT, ["N", 3, 12, 8])],
        [helper.make_tensor_value_info(EMBEDDINGS, TensorProto.FLOAT, ["N", 6])], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)


def _frames(n: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).uniform(-1, 1, (n, 3, 12, 8)).astype(np.float32)


def _ranges(model_path: Path, frames: np.ndarray, target: Path) -> Path:
    """Min-max ranges of every float tensor, in ORT's calibration-cache JSON."""
    from onnxruntime.quantization import CalibrationMethod
    from onnxruntime.quantization.calibrate import TensorData, TensorsData, save_tensors_data

    model = onnx.load(str(model_path))
    names = [FRAMES] + [o for n in model.graph.node for o in n.output]
    outputs = {}
    for batch in _run_all(model, frames, names):
        for name, value in batch.items():
            low, high = outputs.get(name, (np.inf, -np.inf))
            outputs[name] = (min(low, float(value.min())), max(high, float(value.max())))
    data = {name: TensorData(lowest=np.array(low, np.float32), highest=np.array(high, np.float32))
            for name, (low, high) in outputs.items()}
    save_tensors_data(TensorsData(CalibrationMethod.MinMax, data), target)
    return target


def _run_all(model, frames, names):
    from jersey_edge.export.probe import run

    return run(model, frames, names)


@pytest.fixture(params=[TENSORRT, CPU], ids=lambda s: s.target)
def quantized(request, tmp_path):
    fp32_path = tmp_path / "net.onnx"
    fp32 = _net()
    onnx.save(fp32, str(fp32_path))
    calib = _frames(64, 1)
    ranges = _ranges(fp32_path, calib, tmp_path / "ranges.json")
    qdq_path = quantize_encoder(fp32_path, tmp_path / "net.qdq.onnx", request.param,
                                ranges_file=ranges, method="minmax")
    return request.param, fp32, onnx.load(str(qdq_path)), calib, ranges, tmp_path


def test_quantized_nodes_are_the_weighted_ops(quantized) -> None:
    scheme, _, qdq, *_ = quantized
    names = quantized_nodes(qdq)
    assert {"conv1", "dw", "proj"} <= set(names)
    if scheme is TENSORRT:  # the CPU scheme quantizes every op ORT can, Clip included
        assert all(n not in names for n in ("clip1", "flatten"))


def test_leave_float_restores_fp32_inputs_and_drops_dead_qdq(quantized) -> None:
    _, fp32, qdq, *_ = quantized
    freed = leave_float(qdq, fp32, ["dw"])
    node = next(n for n in freed.graph.node if n.name == "dw")
    assert list(node.input[:2]) == ["a1", "w2"]
    inits = {i.name: numpy_helper.to_array(i) for i in freed.graph.initializer}
    floats = {i.name: numpy_helper.to_array(i) for i in fp32.graph.initializer}
    np.testing.assert_array_equal(inits["w2"], floats["w2"])
    # the CPU scheme's DequantizeLinear of the INT32 bias keeps the name "b2": the float
    # bias then comes in under another name
    np.testing.assert_array_equal(inits[node.input[2]], floats["b2"])
    read = {i for n in freed.graph.node for i in n.input} | {o.name for o in freed.graph.output}
    assert all(any(o in read for o in n.output) for n in freed.graph.node
               if n.op_type in QDQ_OPS)  # nothing dangling
    onnx.checker.check_model(freed, full_check=True)
    assert "dw" not in quantized_nodes(freed)


def test_leaving_every_node_float_gives_the_fp32_graph_back(quantized) -> None:
    _, fp32, qdq, *_ = quantized
    frames = _frames(8, 5)
    everything = float_outputs(leave_float(qdq, fp32, quantized_nodes(qdq)))
    np.testing.assert_allclose(embeddings(everything, frames), embeddings(fp32, frames),
                               rtol=1e-5, atol=1e-6)
    assert not any(n.op_type in QDQ_OPS for n in everything.graph.node)


def test_bias_correction_removes_the_mean_shift_of_each_node(quantized) -> None:
    scheme, fp32, qdq, calib, ranges, tmp_path = quantized
    shifts = bias_shifts(qdq, fp32, calib)
    assert set(shifts) == {"conv1", "dw", "proj"}
    assert shifts["conv1"].shape == (8,) and shifts["proj"].shape == (6,)
    path = tmp_path / "corrected.onnx"
    onnx.save(corrected(fp32, shifts), str(path))
    requantized = onnx.load(str(quantize_encoder(path, tmp_path / "again.onnx", scheme,
                                                 ranges_file=ranges, method="minmax")))
    reference = embeddings(fp32, calib)
    before, after = embeddings(qdq, calib), embeddings(requantized, calib)
    mean_error = [float(np.abs((got - reference).mean(axis=0)).mean()) for got in (before, after)]
    assert mean_error[1] < 0.5 * mean_error[0]
    assert Fidelity.of(reference, after).sqnr_db > Fidelity.of(reference, before).sqnr_db


def test_sensitivity_names_every_node_and_mixed_precision_meets_its_target(quantized) -> None:
    _, fp32, qdq, calib, *_ = quantized
    probe = _frames(16, 9)
    reference = embeddings(fp32, probe)
    rows = measure(qdq, fp32, reference, probe, calib)
    assert {r.node for r in rows} == set(quantized_nodes(qdq))
    assert [r.gain_when_float_db for r in rows] == sorted((r.gain_when_float_db for r in rows),
                                                          reverse=True)
    assert all(r.input_sqnr_db is None or r.input_sqnr_db > 0 for r in rows)
    strict = MixedPrecisionConfig(cosine_mean=0.999999, cosine_min=0.99999, max_float_nodes=2)
    chosen, steps = choose_float_nodes(qdq, fp32, reference, probe, rows, strict)
    assert 1 <= len(chosen) <= 2
    assert [s["sqnr_db"] for s in steps] == sorted(s["sqnr_db"] for s in steps)  # each step helps
    assert {r.node for r in rows if r.left_float} == set(chosen)
    loose = MixedPrecisionConfig(cosine_mean=0.0, cosine_min=-1.0)
    assert choose_float_nodes(qdq, fp32, reference, probe, rows, loose)[0] == []


def test_input_sqnr_is_measured_on_activations_only(quantized) -> None:
    _, _, qdq, calib, *_ = quantized
    sqnr = input_sqnr(qdq, calib)
    assert "conv1" in sqnr and "dw" in sqnr
    assert all(np.isfinite(v) for v in sqnr.values())


def test_float_outputs_drops_only_the_final_rounding(quantized) -> None:
    scheme, fp32, qdq, *_ = quantized
    frames = _frames(8, 3)
    kept = float_outputs(qdq)
    onnx.checker.check_model(kept, full_check=True)
    assert [o.name for o in kept.graph.output] == [EMBEDDINGS]
    removed = sum(n.op_type in QDQ_OPS for n in qdq.graph.node) - sum(
        n.op_type in QDQ_OPS for n in kept.graph.node)
    assert removed == (2 if scheme is CPU else 0)  # TensorRT's scheme never rounds outputs
    reference = embeddings(fp32, frames)
    assert (Fidelity.of(reference, embeddings(kept, frames)).sqnr_db
            >= Fidelity.of(reference, embeddings(qdq, frames)).sqnr_db)
