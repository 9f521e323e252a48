"""ONNX Runtime backend: CPU everywhere, CUDA / TensorRT execution providers where present."""

import importlib.util
from typing import Dict, List, Optional, Sequence

import numpy as np

from ..artifacts import Manifest, graph_file
from ..errors import ArtifactError, BackendUnavailableError
from .base import Feed, Session, check_feed

# Best first. The TensorRT EP compiles engines on first run; it is only chosen when asked
# for explicitly or by `auto` on a machine that has it.
PREFERRED_PROVIDERS = (
    "TensorrtExecutionProvider",
    "CUDAExecutionProvider",
    "CPUExecutionProvider",
)


def is_available() -> bool:
    return importlib.util.find_spec("onnxruntime") is not None


def available_providers() -> List[str]:
    if not is_available():
        return []
    import onnxruntime as ort

    present = set(ort.get_available_providers())
    return [p for p in PREFERRED_PROVIDERS if p in present]


class OnnxRuntimeSession(Session):
    """One ONNX graph in an `onnxruntime.InferenceSession`, created once at load time."""

    backend = "onnxruntime"

    def __init__(
        self,
        path: str,
        *,
        providers: Optional[Sequence[str]] = None,
        intra_op_threads: int = 0,
        inter_op_threads: int = 1,
    ) -> None:
        if not is_available():
            raise BackendUnavailableError(
                "onnxruntime is not installed: pip install onnxruntime (or onnxruntime-gpu)"
            )
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.intra_op_num_threads = intra_op_threads
        options.inter_op_num_threads = inter_op_threads
        options.log_severity_level = 3
        chosen = list(providers) if providers else available_providers()
        try:
            self._session = ort.InferenceSession(path, sess_options=options, providers=chosen)
        except Exception as exc:  # ORT raises its own untyped exceptions for bad graphs
            raise ArtifactError(f"{path}: ONNX Runtime cannot load this graph ({exc})") from None
        self._inputs = [i.name for i in self._session.get_inputs()]
        self._expected = {
            i.name: tuple(d if isinstance(d, int) else -1 for d in i.shape)
            for i in self._session.get_inputs()
        }
        self._outputs = [o.name for o in self._session.get_outputs()]
        self.device = self._session.get_providers()[0]

    @property
    def input_names(self) -> List[str]:
        return list(self._inputs)

    def run(self, feed: Feed) -> Dict[str, np.ndarray]:
        check_feed(feed, self._expected)
        results = self._session.run(self._outputs, feed)
        return {
            name: np.asarray(value, dtype=np.float32) for name, value in zip(self._outputs, results)
        }

    def close(self) -> None:
        self._session = None  # type: ignore[assignment]


class OnnxRuntimeBackend:
    """Opens the graphs of an artifacts folder as ONNX Runtime sessions."""

    name = "onnxruntime"

    def __init__(self, *, providers: Optional[Sequence[str]] = None, threads: int = 0) -> None:
        if not is_available():
            raise BackendUnavailableError(
                "onnxruntime is not installed: pip install onnxruntime (or onnxruntime-gpu)"
            )
        self.providers = list(providers) if providers else available_providers()
        self.threads = threads

    @staticmethod
    def is_available() -> bool:
        return is_available()

    def _graph(self, part: str, precision: str) -> str:
        return graph_file(part, precision, tensorrt=self.providers[0] != "CPUExecutionProvider")

    def can_serve(self, manifest: Manifest, precision: str) -> bool:
        return all(manifest.has(self._graph(part, precision)) for part in ("encoder", "head"))

    def open(self, manifest: Manifest, part: str, precision: str) -> Session:
        path = manifest.verify(self._graph(part, precision))
        return OnnxRuntimeSession(
            str(path), providers=self.providers, intra_op_threads=self.threads
        )
