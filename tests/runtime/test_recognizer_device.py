"""`Recognizer.load(device=N)`: the CUDA device index reaches both GPU backends, checked
without a GPU by what each backend hands its library (ORT's provider options, the TensorRT
session's device), never by faked results."""

from pathlib import Path
from typing import Any, Dict, List

import pytest

from jersey_edge.core.errors import ArtifactError, InputError
from jersey_edge.core.preprocess import PreprocessConfig
from jersey_edge.runtime import Recognizer
from jersey_edge.runtime import recognizer as recognizer_mod
from jersey_edge.runtime.backends.onnxruntime import (
    CPU_PROVIDER,
    CUDA_PROVIDER,
    TENSORRT_PROVIDER,
)
from jersey_edge.runtime.backends.tensorrt import compat
from jersey_edge.runtime.manifest import Manifest, write_manifest

FILES = ["encoder.onnx", "head.onnx", "encoder.fp32.engine", "head.fp32.engine"]


class Stop(Exception):
    """Raised by the stand-ins once they have seen what they came for."""


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A manifest over placeholder graphs and engines: nothing here ever parses them."""
    for name in FILES:
        (tmp_path / name).write_bytes(f"placeholder {name}".encode())
    write_manifest(Manifest(tmp_path, model={"embed_dim": 256}, preprocess=PreprocessConfig(),
                            labels={}, max_frames=16), FILES)
    return tmp_path


def test_the_device_reaches_both_backends_options(folder, monkeypatch):
    seen: List[Any] = []

    def open_sessions(name, manifest, precision, options):
        seen.append(options)
        raise Stop

    monkeypatch.setattr(recognizer_mod, "open_sessions", open_sessions)
    for device in (0, 1, 3):
        with pytest.raises(Stop):
            Recognizer.load(folder, device=device)
    assert [(o.tensorrt.device_id, o.onnxruntime.device_id) for o in seen] == [
        (0, 0), (1, 1), (3, 3)]


def test_the_default_device_is_the_first_gpu():
    import inspect

    assert inspect.signature(Recognizer.load).parameters["device"].default == 0


def test_onnxruntime_gpu_providers_get_the_device_id(folder, monkeypatch):
    ort = pytest.importorskip("onnxruntime")
    given: List[List[Any]] = []

    def inference_session(model, sess_options=None, providers=None, **kwargs):
        given.append(list(providers))
        raise Stop("no GPU here: only the provider options are checked")

    monkeypatch.setattr(ort, "InferenceSession", inference_session)
    with pytest.raises(ArtifactError, match="cannot load"):
        Recognizer.load(folder, backend="onnxruntime", device=2,
                        providers=[TENSORRT_PROVIDER, CUDA_PROVIDER, CPU_PROVIDER])
    tensorrt, cuda, cpu = given[0]
    options: Dict[str, Any] = tensorrt[1]
    assert tensorrt[0] == TENSORRT_PROVIDER and options["device_id"] == 2
    assert options["trt_engine_cache_enable"]  # the TensorRT provider's own options, too
    assert cuda == (CUDA_PROVIDER, {"device_id": 2})
    assert cpu == CPU_PROVIDER  # the CPU takes no device


def test_tensorrt_sessions_open_on_the_device(folder, monkeypatch):
    from jersey_edge.runtime.backends.tensorrt import session

    opened: List[Dict[str, Any]] = []

    class Session:
        def __init__(self, engine: bytes, *, name: str = "engine", device_id: int = 0) -> None:
            opened.append({"engine": engine, "name": name, "device_id": device_id})
            raise Stop("no GPU here: only the device handed to the session is checked")

    monkeypatch.setattr(compat, "require_runtime", lambda: None)
    monkeypatch.setattr(session, "TensorRTSession", Session)
    with pytest.raises(Stop):
        Recognizer.load(folder, backend="tensorrt", device=1)
    assert opened == [{"engine": b"placeholder encoder.fp32.engine",
                       "name": str(folder / "encoder.fp32.engine"), "device_id": 1}]


@pytest.mark.parametrize("device", [-1, True, "cuda:1", 1.0, None])
def test_a_device_that_is_no_cuda_index_is_refused_before_anything_opens(folder, device,
                                                                           monkeypatch):
    monkeypatch.setattr(recognizer_mod, "open_sessions", lambda *args: pytest.fail("opened"))
    with pytest.raises(InputError, match="CUDA device index"):
        Recognizer.load(folder, device=device)
