"""run_bench end to end on a tiny exported JerseyNet: rows, parity, streaming, ratios, files.

Timing values are never asserted (they depend on the machine and its load), only that
every measurement exists and is ordered as statistics must be. Option checks fail in one
line that says what to type instead.
"""

import importlib.util
import json
import subprocess
import sys

import pytest

from jersey_edge.bench import parse_batches, plot, run_bench, write_json, write_markdown
from jersey_edge.bench.harness import check_options
from jersey_edge.core.errors import BackendUnavailableError, InputError
from jersey_edge.runtime.backends.tensorrt.compat import runtime_available as tensorrt_is_available

TORCH_ROWS = ["pytorch fp32", "torchscript fp32"]
ORT_ROWS = ["onnxruntime fp32", "onnxruntime fp16", "onnxruntime int8"]
OPENVINO = importlib.util.find_spec("openvino") is not None


@pytest.fixture(scope="module")
def full(artifacts, fast_options):
    """Every backend but OpenVINO and every precision, PyTorch reference, parity on the
    checkpoint's test split. OpenVINO's rows run in a child process
    (test_openvino_rows_and_the_bf16_row_asked_for): with OpenVINO loaded, a later fork
    (the sgemm probe's child, DataLoader workers) crashed this one."""
    return run_bench(artifacts, **fast_options, backends=["tensorrt", "onnxruntime"])


def test_rows_cover_every_config_and_batch(full):
    configs = full.configs()
    assert configs[:2] == TORCH_ROWS  # the reference comes first
    assert [c for c in configs if c.startswith("onnxruntime")] == ORT_ROWS
    for config in configs:
        assert [r.batch for r in full.rows if r.config == config] == [1, 2]
    for row in full.rows:
        assert row.p50_ms <= row.p95_ms <= row.p99_ms
        assert row.encoder_ms > 0 and row.head_ms > 0 and row.reps >= 5
        assert row.frames_per_s == pytest.approx(row.seq_per_s * row.frames)
        assert row.encoder_gflops is not None and row.encoder_gflops > 0


def test_parity_on_the_test_split_against_pytorch(full):
    assert full.inputs["sequences"].startswith("test split")
    for row in full.rows:
        assert None not in (row.number_acc, row.agreement, row.max_abs_logit_diff)
        assert row.parity_n == 6  # 3 labels x 1 test track x 2 sequences
    reference = [r for r in full.rows if r.config == "pytorch fp32"]
    assert all(r.agreement == 1.0 and r.max_abs_logit_diff == 0.0 for r in reference)
    fp32 = [r for r in full.rows if r.config in ("torchscript fp32", "onnxruntime fp32")]
    assert all(r.max_abs_logit_diff < 1e-3 for r in fp32)


def test_streaming_ratios_and_header(full):
    assert full.streaming["window"] == 4
    assert full.streaming["config"].startswith(("onnxruntime", "openvino"))
    assert full.streaming["speedup"] > 0 and len(full.streaming["round_speedups"]) == 5
    decode = full.decode_path
    assert decode["batch"] == 2 and decode["frames"] == 4
    assert decode["end_to_end_p50_ms"] > 0 and decode["decode_ms_per_frame"] > 0
    assert {"best_runtime_vs_pytorch_eager_b1", "best_runtime_vs_pytorch_eager_b2",
            "best_runtime_vs_torchscript_b1", "ort_int8_vs_fp32_encoder_b2",
            "ort_int8_vs_pytorch_eager_b1", "ort_int8_vs_torchscript_b2",
            "streaming_update_vs_full_window", "end_to_end_vs_model_only",
            "encoder_gflops_vs_sgemm_peak"} <= set(full.ratios)
    assert full.system["threads"]["torch"] >= 1
    assert {"numpy", "onnxruntime", "torch"} <= set(full.system["versions"])
    assert full.system["sgemm_fp32_gflops"] > 0


def test_outputs_are_written(full, tmp_path):
    data = json.loads(write_json(full, tmp_path / "b.json").read_text())
    assert {"system", "rows", "streaming", "decode_path", "ratios"} <= set(data)
    assert len(data["rows"]) == len(full.rows)
    assert "| torchscript |" in write_markdown(full, tmp_path / "b.md").read_text()
    assert plot(full, tmp_path / "b.png").stat().st_size > 4096


def test_golden_parity_without_the_torch_reference(artifacts, fast_options):
    report = run_bench(artifacts, **{**fast_options, "batches": (1,)}, backends=["onnxruntime"],
                       precisions=["fp32", "int8"], torch_reference=False)
    assert report.configs() == ["onnxruntime fp32", "onnxruntime int8"]
    assert report.inputs["sequences"].startswith("golden.npz")
    assert "golden.npz" in report.inputs["parity reference"]
    for row in report.rows:
        assert None not in (row.number_acc, row.agreement, row.max_abs_logit_diff)
        assert row.parity_n == 4  # the shared export's golden size


def test_a_copied_folder_notes_the_missing_checkpoint(copied_artifacts, fast_options):
    report = run_bench(copied_artifacts, **{**fast_options, "batches": (1,)},
                       backends=["onnxruntime"], precisions=["fp32"], parity_limit=2)
    assert report.configs() == ["onnxruntime fp32"]
    assert any("not found" in note and "--checkpoint" in note for note in report.notes)
    assert report.rows[0].parity_n == 2 and report.rows[0].agreement is not None


@pytest.mark.parametrize("change,message", [
    (dict(frames=99), "frames per sequence"),
    (dict(batches=(0,)), "batch sizes"),
    (dict(checkpoint="/nonexistent/best.pt"), "checkpoint /nonexistent/best.pt: no such file"),
    (dict(backends=["onnxrutime"]), "backends: unknown 'onnxrutime'"),
    (dict(precisions=["fp8"]), "precisions: unknown"),
])
def test_bad_options_fail_before_measuring(artifacts, fast_options, change, message):
    with pytest.raises(InputError, match=message):
        run_bench(artifacts, **{**fast_options, **change})


def test_no_runnable_backend_is_one_clear_error(artifacts, fast_options):
    if tensorrt_is_available():
        pytest.skip("this machine can run TensorRT")
    with pytest.raises(BackendUnavailableError, match="tensorrt"):
        run_bench(artifacts, **fast_options, backends=["tensorrt"], torch_reference=False)


@pytest.mark.parametrize("text,expected", [
    ("1,4,8,16", [1, 4, 8, 16]),
    ("16, 1 ,4", [1, 4, 16]),
    ("2,2", [2]),
    ("1", [1]),
])
def test_parse_batches(text, expected):
    assert parse_batches(text) == expected


@pytest.mark.parametrize("text", ["0,-1,abc", "0", "-1", "abc", "", "1,,4", "1.5", "5000"])
def test_bad_batches_are_one_clear_line(text):
    with pytest.raises(InputError, match="e.g. 1,4,8,16") as info:
        parse_batches(text)
    assert "\n" not in str(info.value)


GOOD = dict(batches=(1, 2), frames=4, max_frames=4, warmup_s=0.0, duration_s=0.1, threads=0,
            parity_limit=None)


@pytest.mark.parametrize("change,message", [
    (dict(batches=()), "at least one"),
    (dict(frames=5), "frames per sequence must be 1-4"),
    (dict(frames=0), "frames per sequence"),
    (dict(duration_s=0.0), "duration"),
    (dict(warmup_s=-1.0), "warm-up"),
    (dict(threads=-2), "threads must be >= 0"),
    (dict(parity_limit=0), "parity limit"),
    (dict(backends=["onnx"]), "backends: unknown 'onnx'; use tensorrt, onnxruntime"),
    (dict(precisions=["int4"]), "precisions: unknown"),
])
def test_check_options(change, message):
    assert check_options(**GOOD) == [1, 2]
    with pytest.raises(InputError, match=message):
        check_options(**{**GOOD, **change})


@pytest.mark.skipif(not OPENVINO, reason="openvino is not installed")
def test_openvino_rows_and_the_bf16_row_asked_for(artifacts):
    """OpenVINO's rows at every exported precision, timed beside ONNX Runtime's, and
    `--precisions ...,bf16`: its FP32 graphs in bf16 where the CPU has native BF16 (a note
    elsewhere). In a child process: see the `full` fixture."""
    script = (
        "import json; from jersey_edge.bench import run_bench; "
        f"r = run_bench({str(artifacts)!r}, backends=['onnxruntime', 'openvino'], "
        "precisions=['fp32', 'fp16', 'int8', 'bf16'], batches=(1, 2), frames=4, "
        "warmup_s=0.05, duration_s=0.1, progress=False, torch_reference=False); "
        "print(json.dumps([[[row.config, row.device, row.agreement] for row in r.rows], "
        "sorted(r.ratios), r.notes]))")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    rows, ratios, notes = json.loads(done.stdout.strip().splitlines()[-1])
    bf16 = ["openvino bf16"] if native_bf16() else []
    configs = list(dict.fromkeys(config for config, _, _ in rows))
    assert [c for c in configs if c.startswith("openvino")] == [
        "openvino fp32", "openvino fp16", "openvino int8", *bf16]
    assert all(agreement is not None for _, _, agreement in rows)
    assert {device for config, device, _ in rows if config == "openvino int8"} == {"CPU f32"}
    assert {"openvino_int8_vs_ort_fp32_b1", "openvino_int8_vs_ort_fp32_b2"} <= set(ratios)
    if bf16:
        assert {device for config, device, _ in rows if config == "openvino bf16"} == {
            "CPU bf16"}
    else:
        assert any("bf16 skipped" in note for note in notes)


def native_bf16() -> bool:
    from jersey_edge.runtime.backends.openvino import cpu_capabilities

    return "BF16" in cpu_capabilities()

