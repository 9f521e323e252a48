"""ONNX Runtime backend: CPU everywhere, CUDA / TensorRT execution providers where present."""

import importlib.util
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from ...core.errors import ArtifactError, BackendUnavailableError
from ..artifacts import ORT_TENSORRT_CACHE, graphs_for
from ..manifest import DEFAULT_MAX_SEQUENCES, Manifest
from .base import Backend, Feed, Session, Shape, check_graph

# Best first. The TensorRT EP compiles engines on first run; it is only chosen when asked
# for explicitly or by `auto` on a machine that has it.
TENSORRT_PROVIDER = "TensorrtExecutionProvider"
CUDA_PROVIDER = "CUDAExecutionProvider"
CPU_PROVIDER = "CPUExecutionProvider"
PREFERRED_PROVIDERS = (TENSORRT_PROVIDER, CUDA_PROVIDER, CPU_PROVIDER)
INT8_ON_CUDA = ("INT8 on ONNX Runtime runs on its TensorRT or CPU provider: the CUDA provider "
                "would run the Q/DQ graph in float, slower than FP16; use precision fp16 there")


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
    max_sequences: int = DEFAULT_MAX_SEQUENCES  # TensorRT provider: largest batch, sequences
    device_id: int = 0  # TensorRT and CUDA providers


def tensorrt_provider_options(manifest: Manifest, part: str, precision: str, *,
                              max_sequences: int = DEFAULT_MAX_SEQUENCES,
                              device_id: int = 0) -> Dict[str, Any]:
    """What ONNX Runtime's TensorRT provider needs to build the right engine once.

    Without these it builds an FP32 engine from an FP16 graph (or fails: "fp16 precision
    has been set ... but fp16 is not configured"), refuses the QDQ encoder, and rebuilds its
    engines on every start and for every larger batch. The QDQ graph carries its scales, so
    INT8 needs no calibration table; the head of an INT8 pair runs FP16. Engines and the
    timing cache live in the artifacts folder (ORT_TENSORRT_CACHE/<graph sha256 prefix>);
    the profile is the one `build-engine` uses.
    """
    shapes = manifest.profile_shapes(part, max_sequences)

    def spec(which: int) -> str:
        return ",".join(f"{name}:{'x'.join(str(d) for d in ranges[which])}"
                        for name, ranges in shapes.items())

    # The provider keys its engines by graph name and versions, not by weights: a folder
    # holding the graph of the same name (a retrained model copied over) would silently run
    # the old engine. A sub-folder per graph sha256 ties each engine to its graph's bytes.
    serving = graphs_for(precision, "tensorrt")
    graph = manifest.files[serving.graph(part)]
    cache = str(manifest.root / ORT_TENSORRT_CACHE / graph[:16])
    flags = serving.builder_flags(part)
    return {
        "device_id": device_id,
        "trt_fp16_enable": "fp16" in flags,
        "trt_int8_enable": "int8" in flags,
        "trt_engine_cache_enable": True,
        "trt_engine_cache_path": cache,
        "trt_timing_cache_enable": True,
        "trt_timing_cache_path": cache,
        "trt_profile_min_shapes": spec(0),
        "trt_profile_opt_shapes": spec(1),
        "trt_profile_max_shapes": spec(2),
    }


def is_available() -> bool:
    return importlib.util.find_spec("onnxruntime") is not None


def available_providers() -> List[str]:
    if not is_available():
        return []
    import onnxruntime as ort

    present = set(ort.get_available_providers())
    return [p for p in PREFERRED_PROVIDERS if p in present]


# ONNX Runtime's WeightBiasQuantization pass (1.2x) misreads FP16 Q/DQ scales: the strongly
# typed INT8 encoder (opset 19, FP16 scales) gave embedding cosine 0.30 against FP32 with it
# and 0.998 without (measured, 16 frames). It has nothing to do on the CPU INT8 layout (INT8
# weights and INT32 biases already): outputs identical with and without it.
DISABLED_OPTIMIZERS = ("WeightBiasQuantization",)


class OnnxRuntimeSession(Session):
    """One ONNX graph in an `onnxruntime.InferenceSession`, created once at load time."""

    backend = "onnxruntime"

    def __init__(
        self,
        model: Union[str, bytes],
        *,
        name: str = "",
        providers: Optional[Sequence[Union[str, Tuple[str, Dict[str, Any]]]]] = None,
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
        self._where = where
        try:
            self._session = ort.InferenceSession(model, sess_options=options, providers=chosen,
                                                 disabled_optimizers=list(DISABLED_OPTIMIZERS))
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
    def output_names(self) -> List[str]:
        return list(self._outputs)

    @property
    def input_shapes(self) -> Dict[str, Shape]:
        """Input name -> shape as the graph declares it, -1 for a symbolic dimension."""
        return dict(self._expected)

    def _run(self, feed: Feed) -> Dict[str, np.ndarray]:
        try:
            results = self._session.run(self._outputs, feed)
        except Exception as exc:  # e.g. the TensorRT provider's engine build, done at first run
            raise ArtifactError(f"{self._where}: ONNX Runtime failed to run this graph on "
                                f"{self.device} ({exc})") from None
        return {
            name: np.asarray(value, dtype=np.float32) for name, value in zip(self._outputs, results)
        }

    def close(self) -> None:
        self._session = None  # type: ignore[assignment]


class OnnxRuntimeBackend(Backend):
    """Opens the graphs of an artifacts folder as ONNX Runtime sessions.

    The CPU provider runs the CPU layouts (`graphs_for(precision, "cpu")`); the TensorRT
    provider the layouts built for TensorRT, with `tensorrt_provider_options`; the CUDA
    provider FP32 and FP16 only.
    """

    name = "onnxruntime"

    def __init__(self, options: OnnxRuntimeOptions = OnnxRuntimeOptions()) -> None:
        if not is_available():
            raise BackendUnavailableError(ONNXRUNTIME_MISSING)
        self.providers = list(options.providers) if options.providers else available_providers()
        self.options = options

    def _graph(self, part: str, precision: str, provider: str) -> str:
        """The layout for the provider that runs it: the TensorRT provider takes the graphs
        built for TensorRT, the CPU provider the CPU layouts."""
        if provider == CUDA_PROVIDER and precision == "int8":
            raise BackendUnavailableError(INT8_ON_CUDA)
        target = "tensorrt" if provider in (TENSORRT_PROVIDER, CUDA_PROVIDER) else "cpu"
        return graphs_for(precision, target).graph(part)

    def can_serve(self, manifest: Manifest, precision: str) -> bool:
        try:
            return all(manifest.has(self._graph(part, precision, self.providers[0]))
                       for part in ("encoder", "head"))
        except BackendUnavailableError:
            return False

    def _open(self, manifest: Manifest, part: str, precision: str) -> Session:
        """The graph for the first provider, reopened with the CPU layout when ONNX Runtime
        fell back to another provider than the one asked for (the TensorRT provider's
        libraries missing, say): the layout follows the provider actually in use."""
        wanted = self.providers[0]
        session = self._session(manifest, part, precision, wanted)
        if session.device != wanted and self._graph(part, precision, session.device) != \
                self._graph(part, precision, wanted):
            session.close()
            session = self._session(manifest, part, precision, session.device)
        return session

    def _session(self, manifest: Manifest, part: str, precision: str,
                 provider: str) -> OnnxRuntimeSession:
        """One verified graph, refused if its inputs contradict the manifest."""
        name = self._graph(part, precision, provider)
        encoder = part == "encoder"
        first = self.providers.index(provider) if provider in self.providers else 0
        session = OnnxRuntimeSession(
            manifest.read(name), name=str(manifest.path(name)),
            providers=self._with_options(self.providers[first:], manifest, part, precision),
            intra_op_threads=self.options.threads if encoder else self.options.head_threads,
            allow_spinning=self.options.allow_spinning and encoder,
        )
        check_graph(session, session.output_names, manifest, part, manifest.path(name))
        return session

    def _with_options(self, providers: Sequence[str], manifest: Manifest, part: str,
                      precision: str) -> List[Union[str, Tuple[str, Dict[str, Any]]]]:
        """Provider names, the GPU ones with their options."""
        chosen: List[Union[str, Tuple[str, Dict[str, Any]]]] = []
        for provider in providers:
            if provider == TENSORRT_PROVIDER:
                chosen.append((provider, tensorrt_provider_options(
                    manifest, part, precision, max_sequences=self.options.max_sequences,
                    device_id=self.options.device_id)))
            elif provider == CUDA_PROVIDER:
                chosen.append((provider, {"device_id": self.options.device_id}))
            else:
                chosen.append(provider)
        return chosen
