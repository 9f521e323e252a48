"""Weights shipped inside the package, asked for by name (as Ultralytics' `yolov8n.pt`).

`--checkpoint jersey-lite0-synth.pt` (or `train --init jersey-lite0-synth.pt`) uses a local
file of that name where there is one, else the package's own copy. Each shipped file's
sha256 is recorded here and checked on every load: a damaged or swapped file is refused.
The files are FP16 state dicts (half the size; the model loads them into FP32) with their
model card beside them (`<name>.md`: command, data, seed, steps, time, accuracy).
"""

import hashlib
from pathlib import Path
from typing import Dict, Optional, Tuple

import torch

from ..core.errors import CheckpointError
from ..core.fileio import PathLike, atomic_path

WEIGHTS_DIR = Path(__file__).resolve().parent.parent / "weights"
SYNTH_WEIGHTS = "jersey-lite0-synth.pt"
SHIPPED: Dict[str, str] = {
    SYNTH_WEIGHTS: "91cd08593e7d58bf5355daa640b49eefb5362360aac7660b5184e62922f584ee",
}
# What of a training checkpoint's `extra` a shipped file keeps: the recipe and where in it
# the weights were taken, never a path of the machine that trained it.
_KEPT_EXTRA = ("epoch", "val_number_acc", "train_config", "init")


def resolve_checkpoint(path: PathLike) -> Tuple[Path, Optional[str]]:
    """(file to read, expected sha256 or None): a local file wins over a shipped name."""
    path = Path(path).expanduser()
    if path.exists() or str(path) not in SHIPPED:
        return path, None
    return WEIGHTS_DIR / str(path), SHIPPED[str(path)]


def check_sha256(name: Path, digest: str, expected: str) -> None:
    """CheckpointError (one line) where a shipped file's sha256 `digest` is not `expected`."""
    if digest != expected:
        raise CheckpointError(f"{name.name}: sha256 {digest[:12]}... does not match the "
                              f"shipped {expected[:12]}...; the packaged file is damaged or "
                              "was replaced: reinstall jersey-edge")


def pack_weights(checkpoint: PathLike, out: PathLike) -> str:
    """A training checkpoint -> a shippable one: FP16 floating-point tensors, machine paths
    dropped. Returns its sha256 (to record in SHIPPED)."""
    raw = torch.load(Path(checkpoint), map_location="cpu", weights_only=True)
    raw["model_state"] = {k: (v.half() if v.is_floating_point() else v)
                          for k, v in raw["model_state"].items()}
    raw["extra"] = {k: v for k, v in raw["extra"].items() if k in _KEPT_EXTRA}
    out = Path(out)
    with atomic_path(out) as tmp:
        torch.save(raw, tmp)
    return hashlib.sha256(out.read_bytes()).hexdigest()
