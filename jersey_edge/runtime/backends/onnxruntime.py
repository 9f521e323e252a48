"""ONNX Runtime backend: CPU everywhere, CUDA / TensorRT execution providers where present."""

import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from ...core.errors import ArtifactError, BackendUnavailableError
from ..artifacts import MANIFEST, Manifest, graphs_for
from .base import Backend, Feed, Session, Shape

# Best first. The TensorRT EP compiles engines on first run; it is only chosen when asked
# for explicitly or by `auto` on a machine that has it.
PREFERRED_PROVIDERS = (
    "TensorrtExecutionProvider",
    "CUDAExecutionProvider",
    "CPUExecutionProvider",
)


ONNXRUNTIME_MISSING = "onnxruntime is not installed: pip install onnxruntime (or onnxruntime-gpu)"


@dataclass(frozen=True)
class OnnxRuntimeOptions:
    """How the two sessions use the CPU.

    threads: the encoder's intra-op threads, 0 = ONNX Runtime's default (one per core).
    providers: best first, None = every preferred provider this install has.
    allow_spinning: the encoder's workers spin between its layers instead of sleeping.
    head_threads: the head's intra-op threads. The head (a GRU over at most max_frames steps)
    is too small to share out, and one thread means no second pool to take the encoder's
    cores. Measured on the 2-core dev CPU, encoder then head as `predict` runs them, 16
    frames, FP32 / INT8 encoder: 51.8 / 25.2 ms p50 with both pools not spinning, 43.1 /
    19.0 ms with the spinning encoder and a 1-thread head, 71.7 / 33.3 ms with two spinning
    pools (ORT's default); the head itself takes 1.0-1.1 ms either way.
    """

    threads: int = 0
    providers: Optional[Tuple[str, ...]] = None
    allow_spinning: bool = True
    head_threads: int = 1


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
        model: Union[str, bytes],
        *,
        name: str = "",
        providers: Optional[Sequence[str]] = None,
        intra_op_threads: int = 0,
        inter_op_threads: int = 1,
        allow_spinning: bool = False,
    ) -> None:
        """`model`: the graph's verified bytes (`Manifest.read`) or a path; `name` for messages.
        allow_spinning: whether idle workers spin (see `OnnxRuntimeOptions` for why the
        backend lets only the encoder's pool spin)."""
        if not is_available():
            raise BackendUnavailableError(ONNXRUNTIME_MISSING)
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.intra_op_num_threads = intra_op_threads
        options.inter_op_num_threads = inter_op_threads
        options.log_severity_level = 3
        options.add_session_config_entry("session.intra_op.allow_spinning",
                                         "1" if allow_spinning else "0")
        chosen = list(providers) if providers else available_providers()
        where = name or (model if isinstance(model, str) else "ONNX graph")
        try:
            self._session = ort.InferenceSession(model, sess_options=options, providers=chosen)
        except Exception as exc:  # ORT raises its own untyped exceptions for bad graphs
            raise ArtifactError(f"{where}: ONNX Runtime cannot load this graph ({exc})") from None
        self._expected: Dict[str, Shape] = {
            i.name: tuple(d if isinstance(d, int) else -1 for d in i.shape)
            for i in self._session.get_inputs()
        }
        self._outputs = [o.name for o in self._session.get_outputs()]
        self.device = self._session.get_providers()[0]

    @property
    def closed(self) -> bool:
        return self._session is None

    @property
    def input_shapes(self) -> Dict[str, Shape]:
        """Input name -> shape as the graph declares it, -1 for a symbolic dimension."""
        return dict(self._expected)

    def _run(self, feed: Feed) -> Dict[str, np.ndarray]:
        results = self._session.run(self._outputs, feed)
        return {
            name: np.asarray(value, dtype=np.float32) for name, value in zip(self._outputs, results)
        }

    def close(self) -> None:
        self._session = None  # type: ignore[assignment]


class OnnxRuntimeBackend(Backend):
    """Opens the graphs of an artifacts folder as ONNX Runtime sessions.

    The CPU provider runs the CPU layouts (`graphs_for(precision, "cpu")`); the TensorRT and
    CUDA providers the layouts built for TensorRT.
    """

    name = "onnxruntime"

    def __init__(self, options: OnnxRuntimeOptions = OnnxRuntimeOptions()) -> None:
        if not is_available():
            raise BackendUnavailableError(ONNXRUNTIME_MISSING)
        self.providers = list(options.providers) if options.providers else available_providers()
        self.options = options

    def _graph(self, part: str, precision: str) -> str:
        target = "cpu" if self.providers[0] == "CPUExecutionProvider" else "tensorrt"
        return graphs_for(precision, target).graph(part)

    def can_serve(self, manifest: Manifest, precision: str) -> bool:
        return all(manifest.has(self._graph(part, precision)) for part in ("encoder", "head"))

    def _open(self, manifest: Manifest, part: str, precision: str) -> Session:
        """The graph from its verified bytes, refused if its inputs contradict the manifest."""
        name = self._graph(part, precision)
        encoder = part == "encoder"
        session = OnnxRuntimeSession(
            manifest.read(name), name=str(manifest.path(name)), providers=self.providers,
            intra_op_threads=self.options.threads if encoder else self.options.head_threads,
            allow_spinning=self.options.allow_spinning and encoder,
        )
        try:
            check_inputs(session.input_shapes, manifest.input_shapes(part), manifest.path(name))
        except ArtifactError:
            session.close()
            raise
        return session


def check_inputs(found: Dict[str, Tuple[int, ...]], implied: Dict[str, Tuple[int, ...]],
                 where: Path) -> None:
    """A graph whose fixed input dimensions differ from the manifest's (max_frames, image
    size, embedding width) fails here at load, not at the first prediction. A dynamic
    dimension (-1) on either side matches anything."""
    if sorted(found) != sorted(implied):
        raise ArtifactError(f"{where} has inputs {sorted(found)}, {MANIFEST} implies "
                            f"{sorted(implied)}: the graph and manifest disagree; re-export")
    for name, want in implied.items():
        got = found[name]
        if len(got) != len(want) or any(-1 not in (g, w) and g != w for g, w in zip(got, want)):
            raise ArtifactError(
                f"{where}: input {name!r} has shape {_dims(got)}, {MANIFEST} implies "
                f"{_dims(want)}: the graph and manifest disagree; re-export"
            )


def _dims(shape: Tuple[int, ...]) -> str:
    return "(" + ", ".join("N" if d == -1 else str(d) for d in shape) + ")"
