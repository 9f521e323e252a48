"""OpenVINO backend: the exported ONNX graphs on Intel and Arm CPUs, read as they are.

Why a second CPU backend: ONNX Runtime's CPU kernels run this encoder's depthwise INT8
convolutions slowly, so its INT8 gains little over FP32; OpenVINO's CPU plugin runs the same
QDQ graph about twice as fast as ONNX Runtime FP32 (docs/speed.md). It serves the graphs of
the "openvino" target (`artifacts.graphs_for`): the FP32 and FP16 pairs, and for INT8 the
symmetric S8 QDQ encoder, which it runs faster and closer to FP32 than the U8 CPU encoder.

The CPU's arithmetic is set explicitly, never left to the plugin: on CPUs with native BF16
OpenVINO otherwise runs FP32 graphs in bf16 without saying so. `inference_precision` "f32"
(default) or "bf16" (native BF16 CPUs only) applies to the encoder; the head (a GRU over at
most max_frames steps) always runs f32 on one thread, as in the ONNX Runtime backend.
"""

import importlib.util
import queue
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

import numpy as np

from ...core.errors import ArtifactError, BackendUnavailableError, InputError
from ..artifacts import graphs_for
from ..manifest import Manifest
from .base import Backend, Feed, Session, Shape, check_graph

OPENVINO_MISSING = "openvino is not installed: pip install openvino (or jersey-edge[openvino])"
INFERENCE_PRECISIONS = ("f32", "bf16")
HINTS = ("latency", "throughput")
DEVICE = "CPU"


@dataclass(frozen=True)
class OpenVinoOptions:
    """How the two compiled models use the CPU.

    threads: the encoder's inference threads, 0 = OpenVINO's default (one per core).
    hint: "latency" (one request at a time: streaming, one sequence) or "throughput"
    (several streams: batches from many callers at once).
    inference_precision: the encoder's arithmetic, "f32" or "bf16" (native BF16 only).
    cache_dir: a folder to cache compiled models in (loads in 0.17 s instead of 0.62 s for
    the INT8 pair on the 2-core dev CPU), one sub-folder per graph sha256 so a new graph of
    the same name never meets an old blob; None = no cache, nothing written anywhere. A
    cache that cannot be written is skipped, never fatal.
    """

    threads: int = 0
    hint: str = "latency"
    inference_precision: str = "f32"
    cache_dir: Optional[str] = None


def is_available() -> bool:
    return importlib.util.find_spec("openvino") is not None


def cpu_capabilities() -> List[str]:
    """The CPU plugin's optimization capabilities (e.g. FP32, INT8, BF16); [] without it."""
    if not is_available():
        return []
    import openvino as ov

    return [str(c) for c in ov.Core().get_property(DEVICE, "OPTIMIZATION_CAPABILITIES")]


def check_options(options: OpenVinoOptions) -> None:
    """Refuse a hint, precision or thread count the plugin would misread or ignore."""
    if options.hint not in HINTS:
        raise InputError(f"OpenVINO hint {options.hint!r}: use {' or '.join(HINTS)}")
    if options.inference_precision not in INFERENCE_PRECISIONS:
        raise InputError(f"inference precision {options.inference_precision!r}: use "
                         f"{' or '.join(INFERENCE_PRECISIONS)}")
    if isinstance(options.threads, bool) or not isinstance(options.threads, int) \
            or options.threads < 0:
        raise InputError(f"threads must be 0 (the default) or more, got {options.threads!r}")


class OpenVinoSession(Session):
    """One ONNX graph compiled for OpenVINO's CPU plugin.

    Compiled once with a dynamic batch, and once more for each batch in `fixed_batches`
    with that batch fixed: a static shape runs 13% faster (12.2 vs 14.0 ms for the INT8
    encoder on 16 frames, 2-core dev CPU), so the shapes a deployment calls most (one
    sequence: `Manifest.profile_shapes`' optimum) get their own. Infer requests are pooled
    per compiled model: each call takes a free one (or makes one), so calls from several
    threads run at once, each on its own request and output buffers.
    """

    backend = "openvino"

    def __init__(self, model: bytes, *, name: str, config: Dict[str, Any],
                 tensor_names: Sequence[str] = (), fixed_batches: Sequence[int] = ()) -> None:
        """`tensor_names`: the names the runtime feeds and reads; a port that carries one of
        them among its aliases (OpenVINO may name an output after the node feeding it, as
        the FP16 graphs' final Cast) is known by that name."""
        if not is_available():
            raise BackendUnavailableError(OPENVINO_MISSING)
        import openvino as ov

        self._where = name
        core = ov.Core()
        try:
            source = core.read_model(model)
            dynamic = core.compile_model(source, DEVICE, config)
            self._expected: Dict[str, Shape] = {
                _port_name(port, tensor_names): tuple(-1 if d.is_dynamic else d.get_length()
                                                      for d in port.get_partial_shape())
                for port in dynamic.inputs
            }
            self._pools: Optional[Dict[Optional[int], _Pool]] = {None: _Pool(dynamic)}
            for batch in fixed_batches:
                fixed = source.clone()
                fixed.reshape({port.get_any_name(): [batch, *port.get_partial_shape()[1:]]
                               for port in source.inputs})
                self._pools[batch] = _Pool(core.compile_model(fixed, DEVICE, config))
        except Exception as exc:  # OpenVINO raises its own untyped errors for bad graphs
            raise ArtifactError(f"{name}: OpenVINO cannot compile this graph ({exc})") from None
        self._outputs = [_port_name(port, tensor_names) for port in dynamic.outputs]
        precision = dynamic.get_property("INFERENCE_PRECISION_HINT")
        self.device = f"{DEVICE} {precision.get_type_name()}"

    @property
    def closed(self) -> bool:
        return self._pools is None

    @property
    def output_names(self) -> List[str]:
        return list(self._outputs)

    @property
    def input_shapes(self) -> Dict[str, Shape]:
        return dict(self._expected)

    def _run(self, feed: Feed) -> Dict[str, np.ndarray]:
        inputs = [feed[name] for name in self._expected]
        pools = self._pools
        if pools is None:
            raise InputError("this openvino session is closed: load the artifacts again")
        pool = pools.get(len(inputs[0]), pools[None])
        request = pool.take()
        try:
            # Shared, not copied: the call is synchronous and `run` checked the arrays.
            results = request.infer(inputs, share_inputs=True)
            # Copies: the request's output buffers are reused by its next call.
            out = {name: np.array(results[index], dtype=np.float32)
                   for index, name in enumerate(self._outputs)}
        except Exception as exc:
            raise ArtifactError(f"{self._where}: OpenVINO failed to run this graph ({exc})") \
                from None
        pool.give_back(request)
        return out

    def close(self) -> None:
        self._pools = None


class _Pool:
    """A compiled model and its idle infer requests."""

    def __init__(self, compiled: Any) -> None:
        self.compiled = compiled
        self.idle: queue.SimpleQueue[Any] = queue.SimpleQueue()

    def take(self) -> Any:
        try:
            return self.idle.get_nowait()
        except queue.Empty:
            return self.compiled.create_infer_request()

    def give_back(self, request: Any) -> None:
        self.idle.put(request)


class OpenVinoBackend(Backend):
    """Opens the graphs of the "openvino" target as compiled CPU models."""

    name = "openvino"

    def __init__(self, options: OpenVinoOptions = OpenVinoOptions()) -> None:
        if not is_available():
            raise BackendUnavailableError(OPENVINO_MISSING)
        check_options(options)
        if options.inference_precision == "bf16" and "BF16" not in cpu_capabilities():
            raise BackendUnavailableError(
                "inference precision bf16 needs a CPU with native BF16 (AVX-512 BF16 or AMX); "
                "this one would emulate it, slower than f32: use f32")
        self.options = options

    def can_serve(self, manifest: Manifest, precision: str) -> bool:
        serving = graphs_for(precision, "openvino")
        return manifest.has(serving.encoder) and manifest.has(serving.head)

    def _open(self, manifest: Manifest, part: str, precision: str) -> Session:
        name = graphs_for(precision, "openvino").graph(part)
        data = manifest.read(name)
        optimum = {shapes[1][0] for shapes in manifest.profile_shapes(part, 1).values()}
        session = OpenVinoSession(
            data, name=str(manifest.path(name)), config=self._config(manifest, name, part),
            tensor_names=[*manifest.input_shapes(part), *manifest.output_names(part)],
            fixed_batches=sorted(optimum))
        return check_graph(session, session.output_names, manifest, part, manifest.path(name))

    def _config(self, manifest: Manifest, name: str, part: str) -> Dict[str, Any]:
        encoder = part == "encoder"
        options = self.options
        config: Dict[str, Any] = {
            "INFERENCE_PRECISION_HINT": options.inference_precision if encoder else "f32",
            "PERFORMANCE_HINT": options.hint.upper() if encoder else "LATENCY",
        }
        threads = options.threads if encoder else 1
        if threads:
            config["INFERENCE_NUM_THREADS"] = threads
        cache = _cache_folder(manifest, name, options.cache_dir)
        if cache is not None:
            config["CACHE_DIR"] = str(cache)
        return config


def _port_name(port: Any, wanted: Sequence[str]) -> str:
    names = port.get_names()
    return next((name for name in wanted if name in names), port.get_any_name())


def _cache_folder(manifest: Manifest, name: str, cache_dir: Optional[str]) -> Optional[Path]:
    """The graph's compiled-model cache folder, created; None without a usable one."""
    if not cache_dir:
        return None
    folder = Path(cache_dir).expanduser() / manifest.files[name][:16]
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return folder
