"""The body of manifest.json (everything but schema version and file hashes).

Written through `runtime.artifacts.write_manifest`, which adds the hashes and writes last.
"""

import importlib.metadata
import time
from pathlib import Path
from typing import Any, Dict, List, Optional

from ..core.labels import label_layout
from .onnx_graphs import OPSET

TOOLS = ("torch", "onnx", "onnxruntime", "onnxconverter-common", "onnxscript", "timm",
         "jersey-edge")

INT8_HEAD = "not quantized: fp16 under TensorRT, fp32 on CPU"


def tool_versions() -> Dict[str, str]:
    versions = {}
    for dist in TOOLS:
        try:
            versions[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            versions[dist] = "not installed"
    return versions


def manifest_body(*, loaded: Any, checkpoint: Path, checkpoint_sha256: str, data_root: Path,
                  graphs: Dict[str, Any], golden: Dict[str, Any],
                  fp16: Optional[Dict[str, Any]], int8: Optional[Dict[str, Any]],
                  parity: Optional[Dict[str, Any]], seconds: float,
                  degraded: Optional[Dict[str, List[str]]] = None) -> Dict[str, Any]:
    """`loaded` is the LoadedCheckpoint the graphs were exported from."""
    return {
        "model": loaded.model_cfg.to_dict(),  # includes embed_dim
        "preprocess": loaded.preprocess.to_dict(),
        "labels": label_layout(),
        "max_frames": int(loaded.max_frames),
        "opset": OPSET,
        "graphs": graphs,
        "golden": golden,
        "fp16": fp16,
        "int8": int8,
        "parity": parity,
        # precision -> graph pairs that missed their parity target (export --accept-degraded)
        "degraded": degraded or {},
        "checkpoint": str(checkpoint.resolve()),
        "checkpoint_sha256": checkpoint_sha256,
        "data_root": str(data_root.resolve()),
        "tools": tool_versions(),
        "export": {"created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                   "seconds": round(seconds, 1)},
    }
