"""The one place that knows the export folder: file names, tensor names, manifest.json.

Export writes through `write_manifest`; the runtime, the engine builder and the benchmark
read through `load_manifest`, which verifies every file's sha256 before anything runs.
"""

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional

from .errors import ArtifactError
from .fileio import PathLike, atomic_write_text, sha256_file
from .preprocess import PreprocessConfig

SCHEMA_VERSION = 1
MANIFEST = "manifest.json"
GOLDEN = "golden.npz"
CALIBRATION_CACHE = "calibration.cache"
TIMING_CACHE = "timing.cache"
INT8_REPORT = "int8_report.json"

# Tensor names of the two graphs; nothing else in the package spells them.
FRAMES = "frames"
EMBEDDINGS = "embeddings"
MASK = "mask"
TENS = "tens_logits"
ONES = "ones_logits"
ATTENTION = "attention"

PRECISIONS = ("fp32", "fp16", "int8")

REQUIRED_KEYS = ("schema_version", "model", "preprocess", "labels", "max_frames", "files")


def onnx_name(part: str, precision: str, flavour: str = "") -> str:
    """encoder/head x fp32/fp16/int8 (+ 'cpu' flavour for ORT's VNNI layout) -> file name."""
    suffix = "" if precision == "fp32" else f".{precision}"
    if flavour:
        suffix += f".{flavour}"
    return f"{part}{suffix}.onnx"


def engine_name(part: str, precision: str) -> str:
    return f"{part}.{precision}.engine"


def graph_file(part: str, precision: str, *, tensorrt: bool) -> str:
    """The ONNX graph that serves `part` at `precision` on a TensorRT-compiled or a CPU path.

    INT8 has two encoder layouts from one calibration: symmetric S8 QDQ for TensorRT and
    U8-activation QDQ for ONNX Runtime's x86 VNNI kernels. The GRU head is never quantized:
    it runs FP16 under TensorRT and FP32 on CPU (where FP16 is emulated and slow).
    """
    if precision not in PRECISIONS:
        raise ArtifactError(f"unknown precision {precision!r}: use one of {', '.join(PRECISIONS)}")
    if precision != "int8":
        return onnx_name(part, precision)
    if part == "encoder":
        return onnx_name(part, "int8", "" if tensorrt else "cpu")
    return onnx_name(part, "fp16" if tensorrt else "fp32")


@dataclass
class Manifest:
    """What an artifacts folder holds and how to feed it. Mirrors manifest.json."""

    root: Path
    model: Dict[str, Any]
    preprocess: PreprocessConfig
    labels: Dict[str, Any]
    max_frames: int
    embed_dim: int
    files: Dict[str, str]  # file name -> sha256
    extra: Dict[str, Any] = field(default_factory=dict)

    def path(self, name: str) -> Path:
        return self.root / name

    def has(self, name: str) -> bool:
        return name in self.files

    def available_precisions(self) -> List[str]:
        return [p for p in PRECISIONS if self.has(onnx_name("encoder", p))]

    def verify(self, name: str) -> Path:
        """The file's path, after checking it is listed, present and unmodified."""
        if name not in self.files:
            raise ArtifactError(f"{self.root}: {name} is not part of this export (re-run export)")
        path = self.path(name)
        if not path.is_file():
            raise ArtifactError(f"{path} is missing: copy the whole artifacts folder or re-export")
        if sha256_file(path) != self.files[name]:
            raise ArtifactError(
                f"{path} does not match its sha256 in {MANIFEST}: the file was modified, "
                "truncated or swapped; re-export or copy the folder again"
            )
        return path


def load_manifest(root: PathLike) -> Manifest:
    root = Path(root)
    if not root.is_dir():
        raise ArtifactError(f"{root}: no artifacts folder here (run `jersey-edge export` first)")
    path = root / MANIFEST
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ArtifactError(f"{path} is missing (run `jersey-edge export`)") from None
    except (OSError, ValueError) as exc:
        raise ArtifactError(f"{path} is not valid JSON ({exc}); re-export") from None
    if not isinstance(data, dict):
        raise ArtifactError(f"{path} must hold a JSON object; re-export")
    missing = [k for k in REQUIRED_KEYS if k not in data]
    if missing:
        raise ArtifactError(f"{path} lacks {', '.join(missing)}; re-export")
    if data["schema_version"] != SCHEMA_VERSION:
        raise ArtifactError(
            f"{path} has schema version {data['schema_version']!r}, this jersey-edge reads "
            f"{SCHEMA_VERSION}; re-export with this version"
        )
    try:
        return Manifest(
            root=root,
            model=dict(data["model"]),
            preprocess=PreprocessConfig.from_dict(data["preprocess"]),
            labels=dict(data["labels"]),
            max_frames=int(data["max_frames"]),
            embed_dim=int(data["model"]["embed_dim"]),
            files={str(k): str(v) for k, v in dict(data["files"]).items()},
            extra={k: v for k, v in data.items() if k not in REQUIRED_KEYS},
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ArtifactError(f"{path} is malformed ({exc!r}); re-export") from None


def write_manifest(root: PathLike, body: Dict[str, Any], file_names: List[str]) -> Path:
    """Hash `file_names` in `root` and write manifest.json last, atomically.

    Written last so that a folder whose export was interrupted has no manifest that vouches
    for half-written files.
    """
    root = Path(root)
    files = {name: sha256_file(root / name) for name in sorted(file_names)}
    data = {"schema_version": SCHEMA_VERSION, **body, "files": files}
    target = root / MANIFEST
    atomic_write_text(target, json.dumps(data, indent=2, sort_keys=True) + "\n")
    return target


def add_files(root: PathLike, file_names: Optional[List[str]] = None) -> Path:
    """Re-hash an existing manifest after adding files (e.g. engines built on the device)."""
    root = Path(root)
    data = json.loads((root / MANIFEST).read_text(encoding="utf-8"))
    names = sorted(set(data["files"]) | set(file_names or []))
    body = {k: v for k, v in data.items() if k not in ("schema_version", "files")}
    return write_manifest(root, body, names)
