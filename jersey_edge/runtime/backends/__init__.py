"""Inference backends behind one interface, chosen by name in one place.

A backend is a small factory class (`OnnxRuntimeBackend`, `TensorRTBackend`) with
`can_serve(manifest, precision)` and `open(manifest, part, precision) -> Session`.
"""

from typing import Any, Callable, Dict

from ...core.errors import ArtifactError, BackendUnavailableError, InputError
from ..artifacts import Manifest

BACKENDS = ("tensorrt", "onnxruntime")  # best first


def _onnxruntime(**options: Any) -> Any:
    from .onnxruntime import OnnxRuntimeBackend

    return OnnxRuntimeBackend(**options)


def _tensorrt(**options: Any) -> Any:
    from .tensorrt import TensorRTBackend

    return TensorRTBackend(**options)


_FACTORIES: Dict[str, Callable[..., Any]] = {"onnxruntime": _onnxruntime, "tensorrt": _tensorrt}


def open_backend(name: str, manifest: Manifest, precision: str, **options: Any) -> Any:
    """The backend `name` ready to serve `precision`; 'auto' takes the best one that can.

    Options a backend does not use (e.g. ONNX Runtime providers for TensorRT) are ignored
    by it, so callers need not know which backend they get.
    """
    if name == "auto":
        for candidate in BACKENDS:
            try:
                backend = _FACTORIES[candidate](**options)
            except BackendUnavailableError:
                continue
            if backend.can_serve(manifest, precision):
                return backend
        raise ArtifactError(
            f"{manifest.root} has no {precision} graphs that a backend here can run: "
            f"export them (`jersey-edge export --{precision}`) or pick another precision"
        )
    if name not in _FACTORIES:
        raise InputError(f"unknown backend {name!r}: use auto, {', '.join(BACKENDS)}")
    backend = _FACTORIES[name](**options)
    if not backend.can_serve(manifest, precision):
        raise ArtifactError(
            f"{manifest.root} has no {precision} files for {name}: export them "
            f"(`jersey-edge export --{precision}`, engines with `jersey-edge build-engine`)"
        )
    return backend
