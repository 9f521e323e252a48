"""What a benchmark row runs: a two-stage model (`core.two_stage.TwoStage`) plus what the
report says about it.

`encode` and `classify` are separate calls so every row reports encoder and head time
apart, like the exported graphs themselves. TensorRT, ONNX Runtime and any precision are the
same `RuntimeRunner` over a `Recognizer`; the PyTorch rows are `model.reference` objects
(opened by `torch_runners`, imported only when torch is).
"""

from dataclasses import dataclass, field
from pathlib import Path
from typing import List, Optional, Protocol, Sequence

import numpy as np

from ..core.errors import BackendUnavailableError, JerseyEdgeError
from ..core.two_stage import Outputs, TwoStage
from ..runtime import Recognizer
from ..runtime.backends import BACKENDS

CPU_PROVIDER = "CPUExecutionProvider"


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
    """The deployed path: a `Recognizer` (ONNX Runtime or TensorRT) at one precision."""

    is_reference = False

    def __init__(self, recognizer: Recognizer) -> None:
        self.recognizer = recognizer
        self.backend = recognizer.backend
        self.precision = recognizer.precision
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


def label(runner: Runner) -> str:
    return f"{runner.backend} {runner.precision}"
