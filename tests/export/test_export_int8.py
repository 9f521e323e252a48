"""--int8 on a real (tiny) export: the sensitivity report, a broken range caught or repaired,
and the --accept-degraded contract."""

import json
import warnings
from pathlib import Path
from typing import Tuple

import onnx
import pytest

from jersey_edge.core.errors import DegradedExportError, DegradedPrecisionWarning
from jersey_edge.export.int8 import build as int8_build
from jersey_edge.export.int8.build import markdown_table
from jersey_edge.export.int8.sensitivity import MixedPrecisionConfig
from jersey_edge.export.pipeline import ExportOptions, export_model
from jersey_edge.runtime.artifacts import INT8_REPORT, MANIFEST
from jersey_edge.runtime.manifest import load_manifest
from jersey_edge.runtime.recognizer import Recognizer

STEM_INPUT = "frames"


def test_report_names_every_quantized_node_of_both_targets(exported) -> None:
    report = json.loads((exported.out / INT8_REPORT).read_text())
    assert set(report["flavours"]) == {"tensorrt", "cpu"}  # the report's key, as written
    for section in report["flavours"].values():
        graph = onnx.load(str(exported.out / section["file"]))
        names = {n.name for n in graph.graph.node}
        rows = section["nodes"]
        assert len(rows) > 40  # every Conv/Add/Gemm of Lite0 that was quantized
        assert all(r["node"] in names for r in rows)
        assert {"input_sqnr_db", "gain_when_float_db", "left_float", "op_type"} <= set(rows[0])
        assert set(section["probe_fidelity"]) == {"quantized", "bias_corrected", "final"}
    table = markdown_table(report)
    assert "| node | op | input SQNR dB | gain if float dB | float |" in table
    assert report["flavours"]["tensorrt"]["nodes"][0]["node"] in table
    assert exported.report.int8_report == report


def test_manifest_records_the_recipe(exported) -> None:
    int8 = load_manifest(exported.out).int8
    assert int8.report == INT8_REPORT
    for target in ("tensorrt", "cpu"):
        recipe = int8.encoder[target]["recipe"]
        assert isinstance(recipe["bias_correction"], bool)
        assert isinstance(recipe["float_nodes"], list)
    rows = {r.name: r for r in exported.report.parity}
    assert 0.0 < rows["int8 cpu"].golden_cosine_min <= rows["int8 cpu"].golden_cosine_mean


def test_tensorrt_encoder_is_also_written_strongly_typed(exported) -> None:
    manifest = load_manifest(exported.out)
    typed = manifest.int8.encoder["tensorrt-typed"]
    assert (typed["file"], typed["from"], typed["opset"]) == (
        "encoder.int8.typed.onnx", "encoder.int8.onnx", 19)
    assert manifest.has(typed["file"])  # hashed like every graph
    assert 0.9 < typed["probe_fidelity"]["cosine_mean"] <= 1.0
    graph = onnx.load(str(exported.out / typed["file"]))
    assert [n.op_type for n in graph.graph.node].count("QuantizeLinear") == [
        n.op_type for n in onnx.load(str(exported.out / "encoder.int8.onnx")).graph.node
    ].count("QuantizeLinear")
    rows = {r.name: r for r in exported.report.parity}
    row = rows["int8 tensorrt typed"]
    assert (row.encoder, row.head) == ("encoder.int8.typed.onnx", "head.fp16.onnx")
    assert 0.0 < row.golden_cosine_min <= row.golden_cosine_mean


def _break_one_range(monkeypatch, tensor: str) -> None:
    """Scale the range of `tensor` by 100, as a wrong calibration would."""
    save = int8_build.save_ranges

    def broken(ranges, path):
        low, high = ranges[tensor].range_value
        ranges[tensor].lowest, ranges[tensor].highest = low * 100, high * 100
        save(ranges, path)

    monkeypatch.setattr(int8_build, "save_ranges", broken)


def test_a_broken_range_is_refused_and_the_old_folder_kept(exported, monkeypatch,
                                                           tmp_path: Path) -> None:
    _break_one_range(monkeypatch, _conv_reading_a_projection(exported.out / "encoder.onnx")[1])
    no_repair = MixedPrecisionConfig(max_float_nodes=0)
    out = tmp_path / "artifacts"
    out.mkdir()
    (out / "keep.txt").write_text("previous export")
    (out / MANIFEST).write_text("{}")  # a previous export's: only such a folder is replaced
    with pytest.raises(DegradedExportError, match="int8 .*missed target") as caught:
        export_model(exported.checkpoint, out, options=ExportOptions(
            int8=True, calib_size=16, golden_size=4, mixed_precision=no_repair, progress=False))
    assert "--accept-degraded" in str(caught.value)
    assert sorted(p.name for p in out.iterdir()) == ["keep.txt", MANIFEST]
    missed = [r for r in caught.value.details.parity if r.ok is False]
    assert missed and all(r.precision == "int8" for r in missed)
    assert any(r.golden_cosine_mean < 0.99 or r.golden_cosine_min < 0.95 for r in missed)

    report = export_model(exported.checkpoint, out, options=ExportOptions(
        int8=True, calib_size=16, golden_size=4, mixed_precision=no_repair, accept_degraded=True,
        progress=False))
    manifest = json.loads((out / MANIFEST).read_text())
    assert set(manifest["degraded"]) == {"int8"}
    assert report.warnings
    with pytest.warns(DegradedPrecisionWarning, match="accept-degraded"):
        Recognizer.load(out, backend="onnxruntime", precision="int8").close()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # once per folder and precision
        Recognizer.load(out, backend="onnxruntime", precision="int8").close()
        Recognizer.load(out, backend="onnxruntime", precision="fp32").close()


def test_mixed_precision_repairs_a_broken_range(exported, monkeypatch, tmp_path: Path) -> None:
    reader, tensor = _conv_reading_a_projection(exported.out / "encoder.onnx")
    _break_one_range(monkeypatch, tensor)
    out = tmp_path / "artifacts"
    report = export_model(exported.checkpoint, out, options=ExportOptions(
        int8=True, calib_size=16, golden_size=4, progress=False))
    # --int8 alone still writes the FP16 head TensorRT pairs the INT8 encoder with, and
    # verifies that pair; FP16 itself is not offered
    assert (out / "head.fp16.onnx").is_file() and not (out / "encoder.fp16.onnx").exists()
    assert load_manifest(out).available_precisions() == ["fp32", "int8"]
    rows = {r.name: r for r in load_manifest(out).parity.rows}
    assert rows["int8 tensorrt"].head == "head.fp16.onnx"
    assert rows["int8 tensorrt"].ok is not False  # None: too few sequences to judge
    recipe = load_manifest(out).int8.encoder
    for target in ("tensorrt", "cpu"):
        assert reader in recipe[target]["recipe"]["float_nodes"], target
        top = report.int8_report["flavours"][target]["nodes"][0]
        assert top["node"] == reader and top["left_float"]
    assert not load_manifest(out).degraded


def test_the_cpu_scheme_leaves_the_three_channel_stem_in_float(exported) -> None:
    """ORT's integer convs are slower than FP32 for 3 input channels (quantize.py)."""
    stem = next(n.name for n in onnx.load(str(exported.out / "encoder.onnx")).graph.node
                if STEM_INPUT in n.input)
    recipe = load_manifest(exported.out).int8.encoder
    assert recipe["cpu"]["recipe"]["float_for_speed"] == [stem]
    assert recipe["tensorrt"]["recipe"]["float_for_speed"] == []
    cpu = onnx.load(str(exported.out / "encoder.int8.cpu.onnx")).graph
    node = next(n for n in cpu.node if n.name == stem)
    assert node.input[0] == STEM_INPUT  # the float frames, no Q/DQ in between


def _conv_reading_a_projection(fp32: Path) -> Tuple[str, str]:
    """The first conv that reads another conv's output directly (a block's linear
    projection) and that tensor: quantized in every scheme, and read by that conv alone, so
    leaving it in float is the one-node repair. (A ReLU6 output would not do: the CPU scheme
    quantizes the Clip's input with its output's range.)"""
    nodes = onnx.load(str(fp32)).graph.node
    conv_outputs = {n.output[0] for n in nodes if n.op_type == "Conv"}
    reader = next(n for n in nodes if n.op_type == "Conv" and n.input[0] in conv_outputs)
    return reader.name, reader.input[0]
