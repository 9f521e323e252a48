"""The backend template: every session refuses closed use and bad feeds alike; a backend
opens both graphs or neither; each backend reads only its own options."""

import numpy as np
import pytest

from jersey_edge.core.errors import ArtifactError, InputError
from jersey_edge.runtime.artifacts import EMBEDDINGS, FRAMES, MASK, ORT_TENSORRT_CACHE, graphs_for
from jersey_edge.runtime.backends import BackendOptions, OnnxRuntimeOptions, open_backend
from jersey_edge.runtime.backends.base import Backend, Session
from jersey_edge.runtime.backends.onnxruntime import (
    OnnxRuntimeBackend,
    tensorrt_provider_options,
)
from jersey_edge.runtime.manifest import load_manifest


class CountingSession(Session):
    backend = "counting"

    def __init__(self) -> None:
        self.runs = 0
        self._closed = False

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def input_shapes(self):
        return {"x": (-1, 2)}

    def _run(self, feed):
        self.runs += 1
        return {"y": feed["x"] * 2}

    def close(self) -> None:
        self._closed = True


class HeadFails(Backend):
    name = "head-fails"

    def __init__(self) -> None:
        self.opened = []

    def can_serve(self, manifest, precision):
        return True

    def _open(self, manifest, part, precision):
        if part == "head":
            raise InputError("no head here")
        self.opened.append(CountingSession())
        return self.opened[-1]


def test_run_checks_the_feed_before_the_backend_sees_it():
    session = CountingSession()
    assert session.run({"x": np.ones((3, 2), np.float32)})["y"].tolist() == [[2, 2]] * 3
    for bad, match in [({"z": np.ones((1, 2), np.float32)}, "expected inputs"),
                       ({"x": np.ones((1, 3), np.float32)}, "shape"),
                       ({"x": np.ones((1, 2))}, "float32"),
                       ({"x": np.full((1, 2), np.nan, np.float32)}, "NaN")]:
        with pytest.raises(InputError, match=match):
            session.run(bad)
    assert session.runs == 1 and session.input_names == ["x"]


def test_a_closed_session_refuses_to_run():
    session = CountingSession()
    session.close()
    with pytest.raises(InputError, match="counting session is closed"):
        session.run({"x": np.ones((1, 2), np.float32)})
    assert session.runs == 0


def test_open_closes_the_encoder_when_the_head_fails(exported):
    backend = HeadFails()
    with pytest.raises(InputError, match="no head"):
        backend.open(load_manifest(exported.out), "fp32")
    assert [s.closed for s in backend.opened] == [True]


def test_onnxruntime_sessions_are_checked_and_closed_alike(exported):
    manifest = load_manifest(exported.out)
    options = BackendOptions(onnxruntime=OnnxRuntimeOptions(threads=1,
                                                            providers=("CPUExecutionProvider",)))
    encoder, head = open_backend("onnxruntime", manifest, "fp32", options).open(manifest, "fp32")
    assert encoder.input_names == [FRAMES] and sorted(head.input_names) == [EMBEDDINGS, MASK]
    assert encoder.device == "CPUExecutionProvider"
    with pytest.raises(InputError, match="shape"):
        encoder.run({FRAMES: np.zeros((1, 3, 5, 5), np.float32)})
    for session in (encoder, head):
        session.close()
        session.close()  # idempotent
    with pytest.raises(InputError, match="onnxruntime session is closed"):
        encoder.run({FRAMES: np.zeros((1, 3, 64, 32), np.float32)})


def test_only_the_encoder_pool_spins_and_the_head_runs_on_one_thread(exported):
    """Two spinning pools steal each other's cores on the predict path (see
    OnnxRuntimeOptions): the head gets one thread (no pool), only the encoder may spin."""
    manifest = load_manifest(exported.out)
    for options, spins in [(OnnxRuntimeOptions(), "1"),
                           (OnnxRuntimeOptions(allow_spinning=False), "0")]:
        backend = open_backend("onnxruntime", manifest, "fp32", BackendOptions(onnxruntime=options))
        encoder, head = backend.open(manifest, "fp32")
        config = {part: session._session.get_session_options()
                  for part, session in (("encoder", encoder), ("head", head))}
        assert config["encoder"].get_session_config_entry(
            "session.intra_op.allow_spinning") == spins
        assert config["head"].get_session_config_entry("session.intra_op.allow_spinning") == "0"
        assert config["head"].intra_op_num_threads == 1
        assert config["encoder"].intra_op_num_threads == 0
        encoder.close()
        head.close()


def test_tensorrt_provider_options_build_the_right_engine_once(exported):
    """What the provider is given (it cannot run here: no TensorRT, no GPU)."""
    manifest = load_manifest(exported.out)
    encoder = tensorrt_provider_options(manifest, "encoder", "int8", max_sequences=8)
    assert encoder["trt_profile_min_shapes"] == "frames:1x3x64x32"
    assert encoder["trt_profile_opt_shapes"] == "frames:4x3x64x32"  # one 4-frame sequence
    assert encoder["trt_profile_max_shapes"] == "frames:32x3x64x32"
    assert encoder["trt_int8_enable"] and encoder["trt_fp16_enable"]
    assert "trt_int8_calibration_table_name" not in encoder  # the Q/DQ graph has its scales
    assert encoder["trt_engine_cache_enable"] and encoder["trt_timing_cache_enable"]
    graph = manifest.files[graphs_for("int8", "tensorrt").graph("encoder")]
    assert encoder["trt_engine_cache_path"] == str(exported.out / ORT_TENSORRT_CACHE / graph[:16])
    head = tensorrt_provider_options(manifest, "head", "int8", max_sequences=8)
    assert head["trt_profile_max_shapes"] == f"embeddings:8x4x{manifest.embed_dim},mask:8x4"
    assert head["trt_fp16_enable"] and not head["trt_int8_enable"]
    fp32 = tensorrt_provider_options(manifest, "encoder", "fp32")
    assert not fp32["trt_fp16_enable"] and not fp32["trt_int8_enable"]
    # another graph of the same name (a retrained model) never meets this engine cache
    assert len({encoder["trt_engine_cache_path"], head["trt_engine_cache_path"],
                fp32["trt_engine_cache_path"]}) == 3


def test_gpu_providers_get_their_options_and_the_cpu_none(exported):
    backend = OnnxRuntimeBackend(OnnxRuntimeOptions(
        providers=("TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"),
        device_id=1))
    chosen = backend._with_options(backend.providers, load_manifest(exported.out), "encoder",
                                   "fp16")
    assert [c if isinstance(c, str) else c[0] for c in chosen] == list(backend.providers)
    assert chosen[0][1]["trt_fp16_enable"] and chosen[0][1]["device_id"] == 1
    assert chosen[1] == ("CUDAExecutionProvider", {"device_id": 1})
    assert chosen[2] == "CPUExecutionProvider"


def test_the_layout_follows_the_provider_in_use(exported):
    """Asked for the TensorRT provider where there is none, ONNX Runtime falls back to the
    CPU: the INT8 encoder must then be the CPU layout, not the S8 layout for TensorRT."""
    manifest = load_manifest(exported.out)
    backend = OnnxRuntimeBackend(OnnxRuntimeOptions(
        providers=("TensorrtExecutionProvider", "CPUExecutionProvider")))
    encoder, head = backend.open(manifest, "int8")
    assert encoder.device == head.device == "CPUExecutionProvider"
    assert encoder._where.endswith("encoder.int8.cpu.onnx")
    assert head._where.endswith("head.onnx")
    encoder.close()
    head.close()


def test_int8_is_refused_on_the_cuda_provider(exported):
    manifest = load_manifest(exported.out)
    backend = OnnxRuntimeBackend(OnnxRuntimeOptions(
        providers=("CUDAExecutionProvider", "CPUExecutionProvider")))
    assert not backend.can_serve(manifest, "int8")
    assert backend.can_serve(manifest, "fp32")


def test_a_failing_run_is_one_typed_error(exported, monkeypatch):
    manifest = load_manifest(exported.out)
    backend = OnnxRuntimeBackend(OnnxRuntimeOptions(providers=("CPUExecutionProvider",)))
    encoder, head = backend.open(manifest, "fp32")

    class Failing:
        def run(self, *args):
            raise RuntimeError("TensorRT EP failed to create engine from network")

    monkeypatch.setattr(encoder, "_session", Failing())
    with pytest.raises(ArtifactError, match="ONNX Runtime failed to run this graph on "
                       "CPUExecutionProvider .TensorRT EP failed"):
        encoder.run({FRAMES: np.zeros((1, 3, 64, 32), np.float32)})
    head.close()


def test_auto_falls_back_when_the_best_backend_cannot_open_its_files(exported, monkeypatch):
    """A stand-in for a backend whose engine no longer matches the manifest (a build killed
    before the manifest was updated): 'auto' warns and opens the next backend."""
    import warnings

    from jersey_edge.core.errors import ArtifactError
    from jersey_edge.runtime import Recognizer
    from jersey_edge.runtime import backends as backends_module

    class StaleEngines(Backend):
        name = "stale"

        def can_serve(self, manifest, precision):
            return True

        def _open(self, manifest, part, precision):
            raise ArtifactError(f"{part}.fp32.engine does not match its sha256")

    monkeypatch.setattr(backends_module, "auto_order", lambda precision: ("stale", "onnxruntime"))
    monkeypatch.setitem(backends_module._FACTORIES, "stale", lambda options: StaleEngines())
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with Recognizer.load(exported.out, backend="auto") as rec:
            assert rec.backend == "onnxruntime"
    assert any("stale cannot open" in str(w.message) for w in caught)
    with pytest.raises(ArtifactError, match="sha256"):
        Recognizer.load(exported.out, backend="stale")
