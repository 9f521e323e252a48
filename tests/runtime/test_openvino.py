"""The OpenVINO backend on the tiny export: the same numbers as ONNX Runtime in f32, the same
feed checks, closed-state errors and thread safety, an explicit and recorded inference
precision, and a compiled-model cache keyed by the graph's sha256. Runs without torch."""

import subprocess
import sys
import threading

import numpy as np
import pytest

from jersey_edge.runtime import ArtifactError, InputError, Recognizer
from jersey_edge.runtime.artifacts import graphs_for
from jersey_edge.runtime.backends import BackendOptions, OpenVinoOptions, auto_order, open_backend
from jersey_edge.runtime.manifest import load_manifest

ov = pytest.importorskip("openvino", reason="openvino is not installed (jersey-edge[openvino])")
from jersey_edge.runtime.backends.openvino import cpu_capabilities  # noqa: E402

NATIVE_BF16 = "BF16" in cpu_capabilities()


@pytest.fixture(scope="module")
def pair(exported):
    with Recognizer.load(exported.out, backend="onnxruntime", threads=1) as ort_rec, \
            Recognizer.load(exported.out, backend="openvino", threads=1) as ov_rec:
        yield ort_rec, ov_rec


@pytest.fixture(scope="module")
def sequences(pair, frames):
    ort_rec, _ = pair
    return [ort_rec.preprocess(frames[:4]), ort_rec.preprocess(frames[4:])]


def test_fp32_reads_what_onnxruntime_reads(pair, sequences):
    ort_rec, ov_rec = pair
    assert (ov_rec.backend, ov_rec.precision, ov_rec.device) == ("openvino", "fp32", "CPU f32")
    ours = ov_rec.predict_preprocessed(sequences)
    theirs = ort_rec.predict_preprocessed(sequences)
    for a, b in zip(ours, theirs):
        assert a.best_guess == b.best_guess
        np.testing.assert_allclose(a.tens_probs, b.tens_probs, atol=1e-4)
        np.testing.assert_allclose(a.attention, b.attention, atol=1e-4)
    embeddings = np.concatenate(sequences)
    np.testing.assert_allclose(ov_rec.encode(embeddings), ort_rec.encode(embeddings), atol=1e-4)


def test_int8_serves_the_symmetric_qdq_encoder_with_the_fp32_head(exported):
    serving = graphs_for("int8", "openvino")
    assert (serving.encoder, serving.head) == ("encoder.int8.onnx", "head.onnx")
    manifest = load_manifest(exported.out)
    backend = open_backend("openvino", manifest, "int8")
    assert backend.can_serve(manifest, "int8") == manifest.has("encoder.int8.onnx")


def test_the_feed_is_checked_as_on_every_backend(pair):
    _, ov_rec = pair
    shape = (2, 3, ov_rec.manifest.preprocess.height, ov_rec.manifest.preprocess.width)
    with pytest.raises(InputError, match="float32"):
        ov_rec.encode(np.zeros(shape, np.float64))
    bad = np.zeros(shape, np.float32)
    bad[0, 0, 0, 0] = np.nan
    with pytest.raises(InputError, match="NaN"):
        ov_rec.encode(bad)
    with pytest.raises(InputError, match="shape"):
        ov_rec.encode(np.zeros((2, 3, 5, 5), np.float32))


def test_a_closed_session_refuses_calls(exported, sequences):
    rec = Recognizer.load(exported.out, backend="openvino", threads=1)
    rec.close()
    with pytest.raises(InputError, match="closed"):
        rec.predict_preprocessed(sequences)


def test_calls_from_several_threads_get_their_own_answers(pair, sequences):
    _, ov_rec = pair
    expected = [p.best_guess for p in ov_rec.predict_preprocessed(sequences)]
    results, errors = [], []

    def worker(index: int) -> None:
        try:
            order = sequences if index % 2 else sequences[::-1]
            got = [p.best_guess for p in ov_rec.predict_preprocessed(order)]
            results.append(got if index % 2 else got[::-1])
        except Exception as exc:  # collected: a thread's exception would be lost
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and results == [expected] * 8


@pytest.mark.skipif(not NATIVE_BF16, reason="this CPU has no native BF16")
def test_bf16_is_asked_for_and_recorded(exported):
    """In a child process: OpenVINO's bf16 kernels and a later PyTorch training run in one
    process crashed (docs/runtime.md), and the test session trains models later."""
    script = ("import numpy as np; from jersey_edge.runtime import Recognizer; "
              f"rec = Recognizer.load({str(exported.out)!r}, backend='openvino', threads=1, "
              "inference_precision='bf16'); g = np.load(rec.manifest.path('golden.npz')); "
              "p = rec.predict_preprocessed([f[:n] for f, n in zip(g['frames'], g['lengths'])]); "
              "print(rec.device, all(0 <= q.best_guess <= 99 for q in p))")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "CPU bf16 True"


def test_bf16_without_native_support_or_openvino_is_refused(exported, monkeypatch):
    from jersey_edge.runtime.backends import openvino as backend_module

    with pytest.raises(InputError, match="OpenVINO option"):
        Recognizer.load(exported.out, backend="onnxruntime", inference_precision="bf16")
    with pytest.raises(InputError, match="inference precision"):
        Recognizer.load(exported.out, backend="openvino", inference_precision="f16")
    monkeypatch.setattr(backend_module, "cpu_capabilities", lambda: ["FP32", "INT8"])
    with pytest.raises(Exception, match="native BF16"):
        Recognizer.load(exported.out, backend="openvino", inference_precision="bf16")


def test_the_compiled_model_cache_is_keyed_by_the_graph_sha256(exported, tmp_path):
    manifest = load_manifest(exported.out)
    options = BackendOptions(openvino=OpenVinoOptions(threads=1, cache_dir=str(tmp_path)))
    encoder, head = open_backend("openvino", manifest, "fp32", options).open(manifest, "fp32")
    encoder.close()
    head.close()
    folders = sorted(p.name for p in tmp_path.iterdir())
    assert folders == sorted(manifest.files[name][:16] for name in ("encoder.onnx", "head.onnx"))
    assert all(any((tmp_path / folder).iterdir()) for folder in folders)


def test_no_cache_is_written_unless_asked(exported):
    before = sorted(p.name for p in exported.out.iterdir())
    with Recognizer.load(exported.out, backend="openvino", threads=1):
        pass
    assert sorted(p.name for p in exported.out.iterdir()) == before


def test_a_graph_that_is_not_onnx_is_an_artifact_error(exported, tmp_path):
    from jersey_edge.runtime.backends.openvino import OpenVinoSession

    with pytest.raises(ArtifactError, match="OpenVINO cannot compile"):
        OpenVinoSession(b"not a graph", name="broken.onnx", config={})


def test_auto_prefers_openvino_on_a_cpu_except_for_fp32(monkeypatch):
    from jersey_edge.runtime.backends import onnxruntime as ort_module

    monkeypatch.setattr(ort_module, "available_providers", lambda: ["CPUExecutionProvider"])
    monkeypatch.delitem(sys.modules, "torch", raising=False)  # as on a device
    assert auto_order("int8") == ("tensorrt", "openvino", "onnxruntime")
    assert auto_order("fp16") == ("tensorrt", "openvino", "onnxruntime")
    assert auto_order("fp32") == ("tensorrt", "onnxruntime", "openvino")
    monkeypatch.setattr(ort_module, "available_providers",
                        lambda: ["CUDAExecutionProvider", "CPUExecutionProvider"])
    assert auto_order("int8") == ("tensorrt", "onnxruntime", "openvino")
    monkeypatch.setitem(sys.modules, "torch", object())  # a training process
    assert auto_order("int8") == ("tensorrt", "onnxruntime")


def test_importing_the_runtime_does_not_import_openvino():
    script = ("import sys; import jersey_edge.runtime, jersey_edge.runtime.backends; "
              "print('openvino' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "False"
