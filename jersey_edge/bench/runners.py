"""What each benchmark row runs, and where its PyTorch model and test split come from.

Every row is a two-stage model (`core.two_stage.TwoStage`): `encode` and `classify` are
separate calls so every row reports encoder and head time apart, like the exported graphs.
TensorRT, ONNX Runtime and any precision are the same `RuntimeRunner` over a `Recognizer`.
The PyTorch rows are `model.reference` objects over the checkpoint (given, or recorded in
manifest.json at export); torch is imported only inside `open_torch_runners`, so the
runtime-only path (a Jetson) never touches it. Without a checkpoint or its dataset the
benchmark compares against the PyTorch logits stored in golden.npz. Rows that cannot be
opened, and every fallback, become notes, never silent skips.
"""

import contextlib
import importlib.util
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, List, Optional, Protocol, Sequence, Tuple

import numpy as np

from ..core.errors import BackendUnavailableError, InputError, JerseyEdgeError
from ..core.two_stage import Outputs, TwoStage, pad_sequences
from ..data.discovery import discover
from ..data.splits import load_splits
from ..runtime import Recognizer
from ..runtime.backends import BACKENDS
from ..runtime.manifest import Manifest
from .inputs import SequenceSet

CPU_PROVIDER = "CPUExecutionProvider"
# A row, not a graph precision: OpenVINO's FP32 graphs in bf16 arithmetic (asked for by name).
BF16 = "bf16"


class Runner(TwoStage, Protocol):
    """A loaded model on one backend at one precision. Arrays in and out are float32 numpy."""

    backend: str  # "onnxruntime", "tensorrt", "pytorch", "torchscript"
    precision: str  # "fp32", "fp16", "int8"
    device: str  # provider or device, for the report

    @property
    def is_reference(self) -> bool:
        """PyTorch eager FP32: what every other row is compared with."""

    def sync(self) -> None:
        """Wait for queued device work (a no-op where calls return host arrays)."""

    def close(self) -> None:
        """Release sessions and device memory."""


class RuntimeRunner:
    """The deployed path: a `Recognizer` (ONNX Runtime, OpenVINO or TensorRT) at one
    precision. `precision` names the row: "bf16" for OpenVINO's FP32 graphs run in bf16."""

    is_reference = False

    def __init__(self, recognizer: Recognizer, precision: Optional[str] = None) -> None:
        self.recognizer = recognizer
        self.backend = recognizer.backend
        self.precision = precision or recognizer.precision
        self.device = recognizer.device

    def encode(self, frames: np.ndarray) -> np.ndarray:
        return self.recognizer.encode(frames)

    def classify(self, embeddings: np.ndarray, mask: np.ndarray) -> Outputs:
        return self.recognizer.classify(embeddings, mask)

    def sync(self) -> None:
        """Sessions synchronise before returning host arrays."""

    def close(self) -> None:
        self.recognizer.close()


@dataclass
class Opened:
    """Runners that could be opened, and one note for each row that could not."""

    runners: List[Runner] = field(default_factory=list)
    notes: List[str] = field(default_factory=list)

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)


def label(runner: Runner) -> str:
    return f"{runner.backend} {runner.precision}"


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
    records = discover(Path(root)).records
    return load_splits(records, reference.checkpoint.parent, seed=record.seed).test


def open_runners(manifest: Manifest, reference: Optional[Reference], sequences: SequenceSet,
                 stack: contextlib.ExitStack, notes: List[str], *,
                 backends: Optional[Sequence[str]], precisions: Optional[Sequence[str]],
                 threads: int) -> List[Runner]:
    """PyTorch rows first (eager FP32 is the reference), then the runtime rows; each is
    closed by `stack`, however the run ends."""
    opened = open_runtime_runners(manifest.root, backends=backends, precisions=precisions,
                                  available=manifest.available_precisions(), threads=threads)
    for runner in opened.runners:
        stack.callback(runner.close)
    notes += opened.notes
    torch_rows: List[Runner] = []
    if reference is not None:
        count = min(2, len(sequences))
        example = (np.concatenate([sequences.real_frames(i) for i in range(count)]),
                   sequences.mask[:count])
        torch_rows = open_torch_runners(reference.loaded.model, example=example,
                                        threads=threads)
        for runner in torch_rows:
            stack.callback(runner.close)
    if not torch_rows and not opened.runners:
        raise BackendUnavailableError("no backend here can run these artifacts: "
                                      + "; ".join(notes))
    return torch_rows + opened.runners


def open_runtime_runners(artifacts: Path, *, backends: Optional[Sequence[str]],
                         precisions: Optional[Sequence[str]], available: Sequence[str],
                         threads: int) -> Opened:
    """One RuntimeRunner per backend x precision that this machine and folder can serve.

    Rows that cannot be opened (no TensorRT here, INT8 not exported, ...) become notes, not
    errors: a benchmark on a CPU box should still report what it can.
    """
    opened = Opened()
    for backend in backends or BACKENDS:
        for precision in precisions or available:
            if precision == BF16:
                if backend == "openvino":
                    _open_bf16(artifacts, threads, opened)
                continue
            try:
                recognizer = Recognizer.load(artifacts, backend, precision, threads=threads)
            except (BackendUnavailableError, ImportError) as exc:
                # the backend is missing here (ImportError: its module or library): say so once
                opened.note(f"{backend} skipped: {exc}")
                continue
            except JerseyEdgeError as exc:
                opened.note(f"{backend} {precision} skipped: {exc}")
                continue
            runner = RuntimeRunner(recognizer)
            if precision == "fp16" and runner.device == CPU_PROVIDER:
                opened.note(f"{label(runner)} runs on the CPU, where FP16 is emulated: "
                                    "its row is for parity, not speed")
            opened.runners.append(runner)
    return opened


def _open_bf16(artifacts: Path, threads: int, opened: Opened) -> None:
    """The row asked for as precision "bf16": OpenVINO's FP32 graphs in bf16 arithmetic,
    where the CPU has native BF16 (elsewhere it would be emulated: a note says so)."""
    from ..runtime.backends.openvino import cpu_capabilities, is_available

    if not is_available() or "BF16" not in cpu_capabilities():
        opened.note("openvino bf16 skipped: needs openvino and a CPU with native BF16")
        return
    try:
        recognizer = Recognizer.load(artifacts, "openvino", "fp32", threads=threads,
                                     inference_precision="bf16")
    except JerseyEdgeError as exc:
        opened.note(f"openvino bf16 skipped: {exc}")
        return
    opened.runners.append(RuntimeRunner(recognizer, precision=BF16))


def open_torch_runners(model: Any, *, example: Tuple[np.ndarray, np.ndarray],
                       threads: int) -> List[Runner]:
    """Eager FP32 (the reference) and TorchScript FP32 on the best device; TorchScript FP16
    too where a GPU exists (FP16 on a CPU is emulated and only slower).

    `example`: real frames [sum T_i,3,H,W] of a few sequences and their mask [B,T], to trace
    with; sequences of different lengths, so a trace that baked one in would show in parity.
    Each encoder call takes the whole batch it is given, as the timed batch sizes mean.
    """
    import torch

    from ..model.reference import TorchTwoStage, TracedTwoStage

    if threads > 0:
        torch.set_num_threads(threads)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    eager = TorchTwoStage(model.encoder, model.head, device=device, encode_batch=None)
    frames, mask = example
    lengths = mask.sum(1).astype(int).tolist()
    embeddings, _ = pad_sequences(eager.encode(frames), lengths, mask.shape[1])
    traced_on = (frames, embeddings, mask)
    precisions = ["fp32", "fp16"] if device == "cuda" else ["fp32"]
    traced = [TracedTwoStage(model.encoder, model.head, example=traced_on, device=device,
                             precision=precision, encode_batch=None)
              for precision in precisions]
    return [eager, *traced]
