"""EfficientNet-Lite0 frame encoder + padding-invariant temporal head, and their checkpoints.

Names are resolved lazily (PEP 562) so that `jersey_edge.model.config` stays importable
without paying for torch and timm.
"""

import importlib
from typing import Any

_EXPORTS = {
    "ModelConfig": "config",
    "FrameEncoder": "encoder",
    "TemporalHead": "head",
    "JerseyNet": "net",
    "LoadedCheckpoint": "net",
    "build_model": "net",
    "load_checkpoint": "net",
    "save_checkpoint": "net",
    "create_backbone": "pretrained",
    "load_lite0_imagenet": "pretrained",
    "weights_available": "pretrained",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
