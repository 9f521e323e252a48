"""The typed body of manifest.json (`runtime.manifest_sections.ManifestBody`) for one export.

Written through `runtime.artifacts.write_manifest`, which adds the hashes and writes last.
"""

import time
from pathlib import Path
from typing import Any, Dict, Optional

from ..core.labels import label_layout
from ..core.versions import installed_versions
from ..model.net import LoadedCheckpoint
from ..runtime.manifest_sections import (
    Fp16Section,
    GoldenSection,
    Int8Section,
    ManifestBody,
    Provenance,
)
from .onnx_graphs import OPSET

TOOLS = ("torch", "onnx", "onnxruntime", "onnxconverter-common", "onnxscript", "timm",
         "jersey-edge")


def provenance(loaded: LoadedCheckpoint, checkpoint: Path, data_root: Path,
               seconds: float) -> Provenance:
    return Provenance(
        checkpoint=str(checkpoint.resolve()), checkpoint_sha256=loaded.sha256,
        data_root=str(data_root.resolve()),
        tools={name: version or "not installed"
               for name, version in installed_versions(TOOLS).items()},
        created=time.strftime("%Y-%m-%dT%H:%M:%S%z"), seconds=round(seconds, 1))


def manifest_body(loaded: LoadedCheckpoint, *, graphs: Dict[str, Dict[str, Any]],
                  golden: GoldenSection, fp16: Optional[Fp16Section],
                  int8: Optional[Int8Section], provenance: Provenance) -> ManifestBody:
    """The body before verification; `dataclasses.replace` adds parity and degradation."""
    return ManifestBody(
        model=loaded.model_cfg.to_dict(),  # includes embed_dim
        preprocess=loaded.preprocess.to_dict(), labels=label_layout(),
        max_frames=int(loaded.max_frames), opset=OPSET, graphs=graphs, golden=golden,
        provenance=provenance, fp16=fp16, int8=int8)
