"""Where the PyTorch reference and the test split come from, or why there are none.

On a training machine the checkpoint (given, or recorded in manifest.json at export) and its
dataset give PyTorch rows and parity on the whole test split. On a Jetson there is neither;
the benchmark then compares against the PyTorch logits stored in golden.npz. Every fallback
is reported as a note, never silently.
"""

import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import Any, List, Optional

from ..core.errors import InputError
from ..data.splits import load_splits
from ..runtime.artifacts import Manifest


def torch_installed() -> bool:
    return importlib.util.find_spec("torch") is not None


@dataclass
class Reference:
    """A loaded training checkpoint (`load_checkpoint` result) and where it lives."""

    checkpoint: Path
    loaded: Any


def find_checkpoint(manifest: Manifest, checkpoint: Optional[Path],
                    notes: List[str]) -> Optional[Path]:
    """The given checkpoint (must exist), else the one manifest.json names (may be gone:
    artifacts are copied to other machines), else None."""
    if checkpoint is not None:
        if not Path(checkpoint).is_file():
            raise InputError(f"checkpoint {checkpoint}: no such file")
        return Path(checkpoint)
    recorded = manifest.checkpoint
    if not recorded:
        notes.append("no checkpoint given or recorded in manifest.json: PyTorch rows skipped")
        return None
    for candidate in (Path(recorded), manifest.root / recorded):
        if candidate.is_file():
            return candidate
    notes.append(f"checkpoint {recorded} (from manifest.json) not found: PyTorch rows skipped; "
                 "pass --checkpoint")
    return None


def open_reference(manifest: Manifest, checkpoint: Optional[Path],
                   notes: List[str]) -> Optional[Reference]:
    """The PyTorch model, when torch is installed and a checkpoint can be found."""
    if not torch_installed():
        notes.append("torch not installed: PyTorch rows skipped, parity against golden.npz")
        return None
    path = find_checkpoint(manifest, checkpoint, notes)
    if path is None:
        return None
    from ..model.net import load_checkpoint

    return Reference(checkpoint=path, loaded=load_checkpoint(path))


def test_records(reference: Reference, data_root: Optional[Path],
                 notes: List[str]) -> Optional[list]:
    """The checkpoint's own test split (splits.json beside it, same seed), or None when
    the dataset is not here; DatasetError when it changed since training."""
    record = reference.loaded.record
    root = data_root or record.data_root
    if root is None or not Path(root).is_dir():
        if data_root is not None:
            raise InputError(f"dataset folder {data_root}: no such folder")
        notes.append(f"dataset {root or '(not recorded)'} not found: parity on golden.npz; "
                     "pass --data-root for the test split")
        return None
    return load_splits(Path(root), reference.checkpoint.parent, seed=record.seed).test
