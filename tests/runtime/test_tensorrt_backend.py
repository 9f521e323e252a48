"""TensorRT session and backend: clear refusal without TensorRT, parity with ONNX Runtime with it.

The `trt` tests build real engines from tiny real graphs and compare their outputs with
ONNX Runtime on the same graphs; they are skipped without TensorRT, pycuda and a CUDA GPU.
"""

import importlib.util
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from jersey_edge.core.errors import BackendUnavailableError, InputError
from jersey_edge.runtime.artifacts import ATTENTION, EMBEDDINGS, FRAMES, MASK, ONES, TENS
from jersey_edge.runtime.backends import open_backend
from jersey_edge.runtime.backends import tensorrt as trt_backend
from jersey_edge.runtime.backends.tensorrt import compat
from jersey_edge.runtime.backends.tensorrt.build import plan_engine
from jersey_edge.runtime.backends.tensorrt.session import TensorRTSession
from jersey_edge.runtime.manifest import add_files, load_manifest

TOOLS = Path(__file__).resolve().parents[1] / "tools"
needs_trt = pytest.mark.skipif(
    not compat.runtime_available(), reason="needs TensorRT and a CUDA GPU"
)
without_trt = pytest.mark.skipif(
    compat.tensorrt_installed(), reason="TensorRT is installed here"
)

MAX_SEQUENCES = 2
TOLERANCE = {"fp32": 1e-4, "fp16": 2e-2, "int8": 5e-2}


def load_tool(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, TOOLS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@without_trt
def test_session_without_tensorrt_raises_one_clear_line(tmp_path):
    with pytest.raises(BackendUnavailableError, match="TensorRT is not installed") as info:
        TensorRTSession(str(tmp_path / "encoder.fp32.engine"))
    assert "\n" not in str(info.value)


@without_trt
def test_backend_is_unavailable_without_tensorrt():
    assert not compat.runtime_available()
    with pytest.raises(BackendUnavailableError):
        trt_backend.TensorRTBackend(trt_backend.TensorRTOptions(device_id=0))


def test_backend_serves_only_folders_with_both_engines(tmp_path):
    """`can_serve` reads the manifest only, so it is checked here without TensorRT."""
    root = load_tool("tiny_artifacts").write_tiny_artifacts(tmp_path, int8=False)
    backend = object.__new__(trt_backend.TensorRTBackend)  # skips the availability check
    assert not backend.can_serve(load_manifest(root), "fp32")
    (root / "encoder.fp32.engine").write_bytes(b"engine")
    add_files(root, ["encoder.fp32.engine"])
    assert not backend.can_serve(load_manifest(root), "fp32")
    (root / "head.fp32.engine").write_bytes(b"engine")
    add_files(root, ["head.fp32.engine"])
    assert backend.can_serve(load_manifest(root), "fp32")
    assert not backend.can_serve(load_manifest(root), "fp16")


# --- with TensorRT and a GPU -------------------------------------------------------------


@pytest.fixture(scope="module")
def engines(tmp_path_factory) -> Path:
    from jersey_edge.runtime.backends.tensorrt.build import BuildOptions, build_engines

    root = load_tool("tiny_artifacts").write_tiny_artifacts(tmp_path_factory.mktemp("trt"))
    options = BuildOptions(max_sequences=MAX_SEQUENCES, workspace_mb=256)
    for precision in ("fp32", "fp16", "int8"):
        build_engines(root, precision=precision, options=options)
    return root


def ort_reference(root: Path, name: str, feed: dict) -> dict:
    import onnxruntime as ort

    session = ort.InferenceSession(str(root / name), providers=["CPUExecutionProvider"])
    outputs = [o.name for o in session.get_outputs()]
    return dict(zip(outputs, session.run(outputs, feed)))


def sample_feeds(manifest, batch: int) -> dict:
    rng = np.random.default_rng(0)
    frames = manifest.max_frames
    image = (3, manifest.preprocess.height, manifest.preprocess.width)
    mask = np.ones((batch, frames), np.float32)
    mask[0, frames // 2:] = 0  # one padded sequence
    return {
        "encoder": {FRAMES: rng.normal(0, 1, (batch * frames, *image)).astype(np.float32)},
        "head": {
            EMBEDDINGS: rng.normal(0, 1, (batch, frames, manifest.embed_dim)).astype(np.float32),
            MASK: mask,
        },
    }


@pytest.mark.trt
@needs_trt
@pytest.mark.parametrize("precision", ["fp32", "fp16", "int8"])
@pytest.mark.parametrize("part", ["encoder", "head"])
def test_engine_matches_onnxruntime(engines, part, precision):
    manifest = load_manifest(engines)
    backend = open_backend("tensorrt", manifest, precision)
    for batch in (1, MAX_SEQUENCES):
        feed = sample_feeds(manifest, batch)[part]
        graph = plan_engine(part, precision,
                            strongly_typed=compat.strongly_typed_available()).graph
        expected = ort_reference(engines, graph, feed)
        pair = backend.open(manifest, precision)
        with pair.encoder, pair.head:
            got = getattr(pair, part).run(feed)
        assert sorted(got) == sorted(expected)
        for name, value in got.items():
            assert value.dtype == np.float32 and value.shape == expected[name].shape
            scale = max(1.0, float(np.abs(expected[name]).max()))
            np.testing.assert_allclose(value, expected[name], atol=TOLERANCE[precision] * scale)


@pytest.mark.trt
@needs_trt
def test_session_limits_and_lifecycle(engines):
    manifest = load_manifest(engines)
    encoder, head = trt_backend.TensorRTBackend().open(manifest, "fp32")
    assert encoder.input_names == [FRAMES]
    assert sorted(head.input_names) == [EMBEDDINGS, MASK]
    assert encoder.max_batch() == MAX_SEQUENCES * manifest.max_frames
    assert head.max_batch() == MAX_SEQUENCES
    too_many = sample_feeds(manifest, MAX_SEQUENCES + 1)["head"]
    with pytest.raises(InputError, match="split the batch"):
        head.run(too_many)
    outputs = head.run(sample_feeds(manifest, 1)["head"])
    assert sorted(outputs) == sorted([TENS, ONES, ATTENTION])
    first = outputs[TENS].copy()
    head.run(sample_feeds(manifest, MAX_SEQUENCES)["head"])
    np.testing.assert_array_equal(outputs[TENS], first)  # results are copies, not buffers
    for session in (encoder, head):
        session.close()
        session.close()  # idempotent
    with pytest.raises(InputError, match="closed"):
        head.run(sample_feeds(manifest, 1)["head"])


@pytest.mark.trt
@needs_trt
def test_auto_backend_prefers_engines(engines):
    from jersey_edge.runtime import Recognizer

    recognizer = Recognizer.load(engines, backend="auto", precision="fp16")
    assert recognizer.backend == "tensorrt"
