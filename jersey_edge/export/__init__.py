"""ONNX export: FP32/FP16/INT8-QDQ graphs, calibration, golden outputs, parity, manifest.

Entry point: `export_model(checkpoint, out, *, fp16=..., int8=..., ...)` -> `ExportReport`;
`render_parity(report.parity)` gives the rich table the CLI prints. Names are resolved
lazily (PEP 562) so importing the package does not import torch or onnx.
"""

import importlib
from typing import Any

_EXPORTS = {
    "export_model": "pipeline",
    "ExportReport": "report",
    "render_parity": "report",
    "CalibrationConfig": "calibration",
    "CALIB_METHODS": "calibration",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
