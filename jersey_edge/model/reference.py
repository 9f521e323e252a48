"""The PyTorch model behind the numpy two-stage interface (`core.two_stage.TwoStage`).

One class serves as export's reference (golden outputs, verification) and as the
benchmark's PyTorch rows: eager as trained, or traced with TorchScript (the fastest
PyTorch path on CPU). Host<->device copies are inside `encode`/`classify`, as a
deployment pays them.
"""

import copy
import warnings
from typing import Any, Optional, Tuple

import numpy as np
import torch
from torch import nn

from ..core.two_stage import Outputs

DTYPES = {"fp32": torch.float32, "fp16": torch.float16}
# Frames per encoder call for export's reference: memory stays flat on long splits.
ENCODE_BATCH = 64


class TorchTwoStage:
    """Copies of a JerseyNet's encoder and head on `device` at `precision`, in eval mode,
    run without autograd.

    The encoder runs channels-last: oneDNN's depthwise convolutions are ~1.5x faster in that
    layout on CPU, with the same FP32 math (outputs equal to ~1e-6). The modules given are
    left untouched (export writes its graphs from them).
    """

    backend = "pytorch"

    def __init__(self, encoder: nn.Module, head: nn.Module, *, device: str = "cpu",
                 precision: str = "fp32", encode_batch: Optional[int] = ENCODE_BATCH) -> None:
        self.device = device
        self.precision = precision
        self.encode_batch = encode_batch
        self._dtype = DTYPES[precision]
        self._encoder: Any = copy.deepcopy(encoder).eval().to(device, self._dtype).to(
            memory_format=torch.channels_last)
        self._head: Any = copy.deepcopy(head).eval().to(device, self._dtype)

    @property
    def is_reference(self) -> bool:
        """Eager FP32: what every other path is compared with."""
        return self.backend == "pytorch" and self.precision == "fp32"

    @torch.inference_mode()
    def encode(self, frames: np.ndarray) -> np.ndarray:
        """[N,3,H,W] float32 -> [N,E] float32, `encode_batch` frames per call."""
        step = self.encode_batch or max(1, len(frames))
        chunks = [self._numpy(self._encoder(self._tensor(frames[i:i + step])
                                            .contiguous(memory_format=torch.channels_last)))
                  for i in range(0, len(frames), step)]
        return np.concatenate(chunks) if len(chunks) != 1 else chunks[0]

    @torch.inference_mode()
    def classify(self, embeddings: np.ndarray, mask: np.ndarray) -> Outputs:
        """[B,T,E] + [B,T] -> tens [B,11], ones [B,10], attention [B,T]."""
        tens, ones, attention = self._head(self._tensor(embeddings), self._tensor(mask))
        return self._numpy(tens), self._numpy(ones), self._numpy(attention)

    def _tensor(self, array: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(array)).to(self.device, self._dtype)

    @staticmethod
    def _numpy(tensor: torch.Tensor) -> np.ndarray:
        return tensor.float().cpu().numpy()

    def sync(self) -> None:
        """Wait for queued GPU work, so a timer sees it finished."""
        if self.device.startswith("cuda"):
            torch.cuda.synchronize()

    def close(self) -> None:
        self._encoder = self._head = None
        if self.device.startswith("cuda"):
            torch.cuda.empty_cache()


class TracedTwoStage(TorchTwoStage):
    """`torch.jit.trace` of encoder and head, frozen and optimised for inference.

    Traced on real frames, sequences of different lengths; comparing this path with the
    eager one on real sequences is what shows the trace is faithful (a trace that baked in
    a shape or a mask pattern would disagree there).
    """

    backend = "torchscript"

    def __init__(self, encoder: nn.Module, head: nn.Module, *, example: Tuple[np.ndarray, ...],
                 device: str = "cpu", precision: str = "fp32",
                 encode_batch: Optional[int] = ENCODE_BATCH) -> None:
        super().__init__(encoder, head, device=device, precision=precision,
                         encode_batch=encode_batch)
        frames, embeddings, mask = (self._tensor(a) for a in example)
        with torch.no_grad():
            self._encoder = _trace(self._encoder,
                                   (frames.contiguous(memory_format=torch.channels_last),))
            self._head = _trace(self._head, (embeddings, mask))


def _trace(module: nn.Module, inputs: Tuple[torch.Tensor, ...]) -> Any:
    """Trace, freeze, optimise (on CPU: oneDNN convolutions, ~3.5x faster than eager here).

    torch.jit is deprecated in favour of torch.compile, which was measured on the 2-core
    dev CPU: about 2 minutes of compilation and no speed-up over eager, so TorchScript stays
    the "best trick" row. Its tracer warnings (GRU shape checks turned into constants) are
    silenced because the traced path is checked against eager on real sequences.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=torch.jit.TracerWarning)
        warnings.simplefilter("ignore", category=FutureWarning)  # torch.jit deprecation
        traced = torch.jit.trace(module, inputs, check_trace=False)
        return torch.jit.optimize_for_inference(torch.jit.freeze(traced.eval()))
