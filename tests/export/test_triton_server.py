"""A real Triton server loads a `jersey-edge triton --device cpu` repository, and both
ensembles answer like the runtime.

The server is the `tritonserver` binary inside the PyPI wheel nvidia-pytriton, which bundles
only the python backend: each ONNX model is replaced by a python-backend stand-in of the same
config and I/O that runs the very same model.onnx with ONNX Runtime, so the ensembles'
wiring, the configs and the instance kinds are Triton's own, the arithmetic ONNX Runtime's.
The bundled python backend has no implicit-state API, so the `track_window` stand-in keeps
each track's window itself, by correlation id: the state declared in its config is checked
by emulation only (tests/export/test_triton.py), not by this server.
"""

import importlib.util
import os
import shutil
import socket
import subprocess
import sys
import time
from functools import partial
from pathlib import Path
from typing import Dict, Iterator, Optional

import numpy as np
import pytest

from jersey_edge.export.triton import (
    PAD_MODEL,
    SEQUENCE_ENSEMBLE,
    STREAM_ENSEMBLE,
    WINDOW_MODEL,
    TritonRepositoryConfig,
    write_repository,
)
from jersey_edge.runtime.artifacts import FRAMES, PARTS
from tests.export.test_triton import (
    assert_sequence_ensemble_reads_as_the_recognizer,
    assert_track_stream_answers_as_track_stream,
)

grpcclient = pytest.importorskip("tritonclient.grpc", reason="tritonclient[grpc] not installed")
from tritonclient.grpc import model_config_pb2 as mc  # noqa: E402

MODELS = (*PARTS, PAD_MODEL, SEQUENCE_ENSEMBLE, WINDOW_MODEL, STREAM_ENSEMBLE)
ONNX_PLATFORM = 'platform: "onnxruntime_onnx"'

STAND_IN = '''
import json
import os
import sys

sys.path[:0] = SEARCH_PATH  # the stub starts a bare interpreter: this test's packages

import numpy as np
import onnxruntime as ort
import triton_python_backend_utils as pb_utils


class TritonPythonModel:
    """model.onnx of this folder, run by ONNX Runtime with the config's inputs and outputs.
    A model with window state keeps it per correlation id (the stub has no state API)."""

    def initialize(self, args):
        config = json.loads(args["model_config"])
        here = os.path.join(args["model_repository"], args["model_version"], "model.onnx")
        self.session = ort.InferenceSession(here, providers=["CPUExecutionProvider"])
        self.inputs = [i["name"] for i in config["input"]]
        self.outputs = [o["name"] for o in config["output"]]
        self.graph_inputs = {i.name: i for i in self.session.get_inputs()}
        self.states = {}

    def execute(self, requests):
        responses = []
        for request in requests:
            # DLPack both ways: the stub's numpy bridge predates numpy 2
            feed = {name: np.from_dlpack(pb_utils.get_input_tensor_by_name(request, name))
                    for name in self.inputs}
            stateful = "window_in" in self.graph_inputs
            if stateful:
                rows = len(next(iter(feed.values())))
                shape = [rows] + [d for d in self.graph_inputs["window_in"].shape[1:]]
                fresh = (np.zeros(shape, np.float32), np.zeros(shape[:2], np.float32))
                window, mask = self.states.get(request.correlation_id(), fresh)
                feed.update(window_in=window, window_mask_in=mask)
                names = self.outputs + ["window_out", "window_mask_out"]
            else:
                names = self.outputs
            results = dict(zip(names, self.session.run(names, feed)))
            if stateful:
                self.states[request.correlation_id()] = (results["window_out"],
                                                         results["window_mask_out"])
            tensors = [pb_utils.Tensor.from_dlpack(name, np.ascontiguousarray(results[name]))
                       for name in self.outputs]
            responses.append(pb_utils.InferenceResponse(output_tensors=tensors))
        return responses
'''


def _pytriton() -> Optional[Path]:
    spec = importlib.util.find_spec("pytriton")  # not imported: it needs gevent, unused here
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0])


PYTRITON = _pytriton()
SERVER = PYTRITON / "tritonserver" / "bin" / "tritonserver" if PYTRITON else None
STUB = (PYTRITON / "tritonserver" / "python_backend_stubs" /
        f"{sys.version_info.major}.{sys.version_info.minor}" / "triton_python_backend_stub"
        if PYTRITON else None)

pytestmark = pytest.mark.skipif(
    SERVER is None or not SERVER.is_file() or STUB is None or not STUB.is_file()
    or not sys.platform.startswith("linux"),
    reason="needs the tritonserver binary of the PyPI wheel nvidia-pytriton (Linux x86-64, "
           f"a python backend stub for Python {sys.version_info.major}."
           f"{sys.version_info.minor}): pip install --no-deps nvidia-pytriton")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _stand_ins(repo: Path) -> None:
    """Every ONNX model of `repo` served by the python backend, config and files kept."""
    for config in repo.glob("*/config.pbtxt"):
        text = config.read_text()
        if ONNX_PLATFORM in text:
            config.write_text(text.replace(ONNX_PLATFORM, 'backend: "python"'))
            (config.parent / "1" / "model.py").write_text(
                STAND_IN.replace("SEARCH_PATH", repr([p for p in sys.path if p])))


@pytest.fixture(scope="module")
def server(exported, tmp_path_factory) -> Iterator["grpcclient.InferenceServerClient"]:
    root = tmp_path_factory.mktemp("triton-server")
    repo = root / "repo"
    write_repository(TritonRepositoryConfig(artifacts=exported.out, out=repo,
                                            precision="fp32", max_sequences=2, device="cpu"))
    _stand_ins(repo)
    assert PYTRITON is not None and SERVER is not None and STUB is not None
    backends = root / "backends"
    shutil.copytree(PYTRITON / "tritonserver" / "backends", backends)
    shutil.copy2(STUB, backends / "python" / STUB.name)
    libs = PYTRITON.parent / "nvidia_pytriton.libs"
    grpc_port = _free_port()
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": "",
           "LD_LIBRARY_PATH": os.pathsep.join(filter(None, [str(libs),
                                                             os.environ.get("LD_LIBRARY_PATH")]))}
    log = (root / "server.log").open("w")
    process = subprocess.Popen(
        [str(SERVER), f"--model-repository={repo}", f"--backend-directory={backends}",
         "--http-address=127.0.0.1", f"--http-port={_free_port()}",
         "--grpc-address=127.0.0.1", f"--grpc-port={grpc_port}", "--allow-metrics=false",
         "--exit-on-error=true"], env=env, stdout=log, stderr=subprocess.STDOUT)
    client = grpcclient.InferenceServerClient(f"127.0.0.1:{grpc_port}")
    try:
        deadline = time.monotonic() + 180
        while not _ready(client):
            if process.poll() is not None or time.monotonic() > deadline:
                errors = [line for line in (root / "server.log").read_text().splitlines()
                          if line.startswith(("E", "error"))]
                pytest.fail("tritonserver did not come up:\n" + "\n".join(errors[-20:]))
            time.sleep(0.5)
        yield client
    finally:
        client.close()
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def _ready(client: "grpcclient.InferenceServerClient") -> bool:
    try:
        return bool(client.is_server_ready())
    except Exception:  # not listening yet
        return False


def _infer(client, model: str, pixels: np.ndarray, sequence_id: Optional[int] = None,
           start: bool = False) -> Dict[str, np.ndarray]:
    request = grpcclient.InferInput(FRAMES, list(pixels.shape), "FP32")
    request.set_data_from_numpy(pixels)
    sequence = {} if sequence_id is None else {"sequence_id": sequence_id,
                                               "sequence_start": start}
    result = client.infer(model, [request], **sequence)
    return {o.name: result.as_numpy(o.name) for o in result.get_response().outputs}


def test_every_model_of_a_cpu_repository_loads(server) -> None:
    for model in MODELS:
        assert server.is_model_ready(model), model
        config = server.get_model_config(model).config
        if config.platform != "ensemble":
            assert [g.kind for g in config.instance_group] == [mc.ModelInstanceGroup.KIND_CPU]


def test_the_sequence_ensemble_reads_as_the_recognizer_does(server, recognizer,
                                                            exported) -> None:
    assert_sequence_ensemble_reads_as_the_recognizer(partial(_infer, server), recognizer,
                                                     exported, atol=1e-6)


def test_the_track_stream_ensemble_answers_as_track_stream(server, recognizer,
                                                           exported) -> None:
    assert_track_stream_answers_as_track_stream(partial(_infer, server), recognizer, exported,
                                                atol=1e-6)
