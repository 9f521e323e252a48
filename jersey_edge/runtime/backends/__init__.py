"""Inference backends behind one interface (`base.Backend`), chosen by name in one place.

Each backend has its own options dataclass; `BackendOptions` carries all of them, so that
"auto" can open whichever backend serves and each backend reads only its own options.
Backend libraries are imported when chosen: onnxruntime / tensorrt / openvino load only then.

"auto", best first (`auto_order`): TensorRT engines; ONNX Runtime when it has a GPU provider;
then the CPU backends by precision, as `bench` measured them on a 2-core AVX-512 VNNI EPYC
(docs/speed.md): ONNX Runtime first for FP32 (OpenVINO f32 equal at batch 1, 0.88x at batch
16); OpenVINO first for INT8 (2.0x ONNX Runtime FP32 at batch 1 and 16, where ONNX Runtime's
INT8 gives 1.2-1.3x) and for FP16 (which ONNX Runtime emulates on a CPU: 1.6x slower).
In a process that has imported torch (training, export, evaluation), "auto" never picks
OpenVINO: with OpenVINO and torch loaded together, forking (DataLoader workers, subprocesses)
crashed the process with a segmentation fault on the dev machine. There it is used only when
named.
"""

import sys
import warnings
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Tuple

from ...core.errors import ArtifactError, BackendUnavailableError, InputError
from ..manifest import Manifest
from .base import Backend, Session
from .onnxruntime import OnnxRuntimeOptions
from .openvino import OpenVinoOptions
from .tensorrt import TensorRTOptions

__all__ = ["BACKENDS", "Backend", "BackendOptions", "OnnxRuntimeOptions", "OpenVinoOptions",
           "TensorRTOptions", "auto_order", "open_backend", "open_sessions"]

BACKENDS = ("tensorrt", "onnxruntime", "openvino")


@dataclass(frozen=True)
class BackendOptions:
    onnxruntime: OnnxRuntimeOptions = field(default_factory=OnnxRuntimeOptions)
    tensorrt: TensorRTOptions = field(default_factory=TensorRTOptions)
    openvino: OpenVinoOptions = field(default_factory=OpenVinoOptions)


def _onnxruntime(options: BackendOptions) -> Backend:
    from .onnxruntime import OnnxRuntimeBackend

    return OnnxRuntimeBackend(options.onnxruntime)


def _tensorrt(options: BackendOptions) -> Backend:
    from .tensorrt import TensorRTBackend

    return TensorRTBackend(options.tensorrt)


def _openvino(options: BackendOptions) -> Backend:
    from .openvino import OpenVinoBackend

    return OpenVinoBackend(options.openvino)


_FACTORIES: Dict[str, Callable[[BackendOptions], Backend]] = {
    "onnxruntime": _onnxruntime, "tensorrt": _tensorrt, "openvino": _openvino,
}


def auto_order(precision: str) -> Tuple[str, ...]:
    """The backends "auto" tries for `precision`, best first (see the module docstring)."""
    from .onnxruntime import CPU_PROVIDER, available_providers

    gpu = [p for p in available_providers() if p != CPU_PROVIDER]
    cpu: Tuple[str, ...] = (("onnxruntime", "openvino") if precision == "fp32"
                            else ("openvino", "onnxruntime"))
    if "torch" in sys.modules:  # see the module docstring: OpenVINO only when asked for
        cpu = ("onnxruntime",)
    return ("tensorrt", *(("onnxruntime",) if gpu else ()),
            *(name for name in cpu if not (gpu and name == "onnxruntime")))


def open_sessions(name: str, manifest: Manifest, precision: str,
                  options: BackendOptions = BackendOptions()) -> Tuple[Backend, Session, Session]:
    """(backend, encoder, head) of `name` for `precision`. With 'auto', a backend whose files
    fail to open (an engine whose build was killed before the manifest was updated, say) is
    skipped with a warning, and the next one is tried."""
    if name != "auto":
        backend = open_backend(name, manifest, precision, options)
        return (backend, *backend.open(manifest, precision))
    candidates = _serving(manifest, precision, options)
    for index, backend in enumerate(candidates):
        try:
            return (backend, *backend.open(manifest, precision))
        except ArtifactError as exc:
            if index == len(candidates) - 1:
                raise
            warnings.warn(f"{backend.name} cannot open {manifest.root} ({exc}); using "
                          f"{candidates[index + 1].name} instead", RuntimeWarning, stacklevel=3)
    raise _nothing_serves(manifest, precision)


def _serving(manifest: Manifest, precision: str, options: BackendOptions) -> List[Backend]:
    """The backends installed here that serve `precision` from this folder, best first."""
    found = []
    for candidate in auto_order(precision):
        try:
            backend = _FACTORIES[candidate](options)
        except BackendUnavailableError:
            continue
        if backend.can_serve(manifest, precision):
            found.append(backend)
    return found


def _nothing_serves(manifest: Manifest, precision: str) -> ArtifactError:
    return ArtifactError(
        f"{manifest.root} has no {precision} graphs that a backend here can run: "
        f"export them (`jersey-edge export --{precision}`) or pick another precision")


def open_backend(name: str, manifest: Manifest, precision: str,
                 options: BackendOptions = BackendOptions()) -> Backend:
    """The backend `name` ready to serve `precision`; 'auto' takes the best one that can."""
    if name == "auto":
        serving = _serving(manifest, precision, options)
        if serving:
            return serving[0]
        raise _nothing_serves(manifest, precision)
    if name not in _FACTORIES:
        raise InputError(f"unknown backend {name!r}: use auto, {', '.join(BACKENDS)}")
    backend = _FACTORIES[name](options)
    if not backend.can_serve(manifest, precision):
        raise ArtifactError(
            f"{manifest.root} has no {precision} files for {name}: export them "
            f"(`jersey-edge export --{precision}`, engines with `jersey-edge build-engine`)"
        )
    return backend
