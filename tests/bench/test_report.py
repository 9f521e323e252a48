"""Ratios, JSON, Markdown, table and PNG from a hand-made report (no model runs). Ratios are
taken per round: their arithmetic, never wall-clock values."""

import dataclasses
import json

import numpy as np
import pytest
from rich.console import Console

from jersey_edge.bench import BenchReport, Row, plot, render_table, write_json, write_markdown
from jersey_edge.bench.decode_path import DecodePathResult
from jersey_edge.bench.harness import StreamingResult
from jersey_edge.bench.report import compute_ratios, noisy
from jersey_edge.bench.system import SgemmPeak
from jersey_edge.bench.timing import Timing

JSON_ROW_KEYS = {"backend", "precision", "batch", "p50_ms", "p95_ms", "p99_ms", "seq_per_s",
                 "frames_per_s", "encoder_ms", "head_ms", "number_acc", "agreement",
                 "max_abs_logit_diff"}


def row(backend, precision, batch, p50, *, encoder=None, agreement=1.0, gflops=None):
    encoder = p50 * 0.9 if encoder is None else encoder
    return Row(backend=backend, precision=precision, device="cpu", batch=batch, frames=16,
               reps=10, p50_ms=p50, p95_ms=p50 * 1.2, p99_ms=p50 * 1.3,
               seq_per_s=batch * 1e3 / p50, frames_per_s=16 * batch * 1e3 / p50,
               encoder_ms=encoder, head_ms=p50 - encoder, encoder_gflops=gflops,
               number_acc=0.9, agreement=agreement, max_abs_logit_diff=1e-3, parity_n=20,
               round_encoder_ms=[encoder] * 3)


ROWS = [
    row("pytorch", "fp32", 1, 40.0), row("pytorch", "fp32", 16, 400.0),
    row("torchscript", "fp32", 1, 20.0), row("torchscript", "fp32", 16, 200.0),
    row("onnxruntime", "fp32", 1, 10.0, gflops=30.0), row("onnxruntime", "fp32", 16, 100.0),
    # fastest, but reads other numbers than PyTorch: never the "best runtime"
    row("onnxruntime", "int8", 1, 5.0, encoder=4.5, agreement=0.5),
    row("onnxruntime", "int8", 16, 50.0, encoder=45.0, agreement=0.5),
]


@pytest.fixture
def report():
    streaming = StreamingResult("onnxruntime fp32", 16, update=Timing(np.array([1.0])),
                                full_window=Timing(np.array([8.0])),
                                round_speedups=[7.0, 8.0, 9.0])
    ms = lambda value: Timing(np.array([value]))  # noqa: E731
    decode = DecodePathResult("onnxruntime fp32", 16, 16, decode=ms(0.2), preprocess=ms(0.1),
                              model=ms(100.0), end_to_end=ms(125.0),
                              round_shares=[0.7, 0.8, 0.9])
    ratios = compute_ratios(ROWS, streaming=streaming, decode_path=decode,
                            sgemm=SgemmPeak({1: [50.0, 60.0, 75.0]}))
    return BenchReport(system={"cpu": "Test CPU", "usable_cores": 2, "gpu": None},
                       rows=ROWS, ratios=ratios, settings={"batches": [1, 16]},
                       inputs={"sequences": "golden.npz (3 sequences)"},
                       streaming=streaming.to_dict(), decode_path=decode.to_dict(),
                       notes=["tensorrt fp16 skipped: TensorRT is not installed"])


def test_ratios(report):
    ratios = {name: ratio.value for name, ratio in report.ratios.items()}
    assert ratios["best_runtime_vs_pytorch_eager_b1"] == pytest.approx(4.0)
    assert ratios["best_runtime_vs_pytorch_eager_b16"] == pytest.approx(4.0)
    assert ratios["best_runtime_vs_torchscript_b1"] == pytest.approx(2.0)
    assert ratios["ort_int8_vs_fp32_encoder_b1"] == pytest.approx(9.0 / 4.5)
    assert ratios["ort_int8_vs_pytorch_eager_b1"] == pytest.approx(8.0)
    assert ratios["ort_int8_vs_torchscript_b16"] == pytest.approx(4.0)
    streaming = report.ratios["streaming_update_vs_full_window"]
    assert (streaming.value, streaming.low, streaming.high) == (8.0, 7.5, 8.5)
    assert ratios["end_to_end_vs_model_only"] == pytest.approx(0.8)
    # 30 GFLOP/s against the slices' 50/60/75: per round 0.6/0.5/0.4, median 0.5
    efficiency = report.ratios["encoder_gflops_vs_sgemm_peak"]
    assert (efficiency.value, efficiency.low, efficiency.high) == pytest.approx((0.5, 0.45, 0.55))
    assert "onnxruntime fp32" in report.ratios["best_runtime_vs_pytorch_eager_b1"].what


def test_ratios_without_torch_rows_leave_torch_ratios_out():
    runtime_only = [r for r in ROWS if r.backend == "onnxruntime"]
    names = set(compute_ratios(runtime_only))
    assert names == {"ort_int8_vs_fp32_encoder_b1", "ort_int8_vs_fp32_encoder_b16"}


def test_ratios_are_the_median_of_per_round_ratios_with_their_iqr():
    fast = dataclasses.replace(row("onnxruntime", "fp32", 1, 10.0),
                               round_p50_ms=[10, 10, 10, 20, 10])
    slow = dataclasses.replace(row("pytorch", "fp32", 1, 30.0),
                               round_p50_ms=[30, 30, 30, 40, 60])
    ratio = compute_ratios([fast, slow])["best_runtime_vs_pytorch_eager_b1"]
    assert ratio.value == 3.0  # rounds: 3, 3, 3, 2, 6
    assert (ratio.low, ratio.high) == (3.0, 3.0) and ratio.spread == 0.0
    assert "median of 5 rounds" in ratio.what
    assert noisy({"r": ratio}) == []


def test_a_ratio_whose_rounds_disagree_is_flagged():
    fast = dataclasses.replace(row("onnxruntime", "fp32", 1, 10.0),
                               round_p50_ms=[10, 10, 10, 10])
    slow = dataclasses.replace(row("pytorch", "fp32", 1, 30.0), round_p50_ms=[20, 30, 40, 50])
    ratio = compute_ratios([fast, slow])["best_runtime_vs_pytorch_eager_b1"]
    assert (ratio.low, ratio.value, ratio.high) == (2.75, 3.5, 4.25)
    [note] = noisy({"eager": ratio})
    assert note.startswith("eager: rounds spread 43% of the median")


def test_rows_without_rounds_keep_the_plain_ratio():
    ratio = compute_ratios([row("onnxruntime", "fp32", 1, 10.0),
                            row("pytorch", "fp32", 1, 30.0)])["best_runtime_vs_pytorch_eager_b1"]
    assert ratio.value == 3.0 and ratio.low is None and ratio.spread is None


def test_json_structure(report, tmp_path):
    data = json.loads(write_json(report, tmp_path / "bench.json").read_text())
    assert {"system", "rows", "streaming", "decode_path", "ratios"} <= set(data)
    assert data["decode_path"]["model_ms_per_frame"] == pytest.approx(100.0 / 256)
    assert data["streaming"]["round_speedups"] == [7.0, 8.0, 9.0]
    assert len(data["rows"]) == len(ROWS)
    assert all(JSON_ROW_KEYS <= set(r) for r in data["rows"])
    assert data["ratios"]["best_runtime_vs_pytorch_eager_b1"]["value"] == pytest.approx(4.0)


def test_markdown_and_table(report, tmp_path):
    text = write_markdown(report, tmp_path / "bench.md").read_text()
    assert text.count("| onnxruntime |") == 4
    table = [line for line in text.splitlines() if line.startswith("|")]
    assert {line.replace("\\|", "").count("|") for line in table} == {15}  # 14 columns
    assert "Test CPU" in text and "TensorRT is not installed" in text
    console = Console(width=240, record=True)
    console.print(render_table(report))
    output = console.export_text()
    assert "torchscript" in output and "streaming" in output and "decode path" in output


def test_plot_is_a_real_png(report, tmp_path):
    path = plot(report, tmp_path / "bench.png")
    data = path.read_bytes()
    assert data.startswith(b"\x89PNG") and len(data) > 4096
