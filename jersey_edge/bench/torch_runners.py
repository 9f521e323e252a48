"""PyTorch rows: the eager FP32 reference and Project B's best trick (TorchScript, FP16 on GPU).

This module imports torch at the top on purpose: the harness imports it only after checking
that torch is installed, so the runtime-only path (a Jetson) never touches it.
"""

import copy
import warnings
from pathlib import Path
from typing import Any, List, Tuple

import numpy as np
import torch

DTYPES = {"fp32": torch.float32, "fp16": torch.float16}


class _TorchRunner:
    """`encoder` and `head` callables of a JerseyNet on one device at one precision.

    In and out are numpy like every runner: the host<->device copies are part of the cost a
    deployment pays, as they are for the runtime backends.
    """

    backend = ""
    is_reference = False

    def __init__(self, model: Any, *, device: str, precision: str) -> None:
        self.device = device
        self.precision = precision
        self._dtype = DTYPES[precision]
        self._encoder = model.encoder
        self._head = model.head

    def _tensor(self, array: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(array)).to(self.device, self._dtype)

    @staticmethod
    def _numpy(tensor: torch.Tensor) -> np.ndarray:
        return tensor.float().cpu().numpy()

    @torch.inference_mode()
    def encode(self, frames: np.ndarray) -> np.ndarray:
        return self._numpy(self._encoder(self._tensor(frames)))

    @torch.inference_mode()
    def head(self, embeddings: np.ndarray, mask: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        tens, ones = self._head(self._tensor(embeddings), self._tensor(mask))[:2]
        return self._numpy(tens), self._numpy(ones)

    def sync(self) -> None:
        if self.device.startswith("cuda"):
            torch.cuda.synchronize()

    def close(self) -> None:
        self._encoder = self._head = None
        if self.device.startswith("cuda"):
            torch.cuda.empty_cache()


class TorchEagerRunner(_TorchRunner):
    """The model as trained, called eagerly in FP32: the reference of every parity column."""

    backend = "pytorch"
    is_reference = True

    def __init__(self, model: Any, *, device: str) -> None:
        super().__init__(model, device=device, precision="fp32")


class TorchScriptRunner(_TorchRunner):
    """`torch.jit.trace` of encoder and head, frozen and optimised for inference.

    Traced on real frames; the parity columns of this row are what shows the trace is
    faithful (a trace that baked in a shape or a mask pattern would disagree there).
    """

    backend = "torchscript"

    def __init__(self, model: Any, *, device: str, precision: str,
                 example: Tuple[np.ndarray, np.ndarray, np.ndarray]) -> None:
        super().__init__(model, device=device, precision=precision)
        frames, embeddings, mask = (self._tensor(a) for a in example)
        with torch.no_grad():
            self._encoder = _trace(model.encoder, (frames,))
            self._head = _trace(model.head, (embeddings, mask))


def _trace(module: torch.nn.Module, inputs: Tuple[torch.Tensor, ...]) -> Any:
    """Trace, freeze, optimise (on CPU: oneDNN convolutions, ~3.5x faster than eager here).

    torch.jit is deprecated in favour of torch.compile, which was measured on the 2-core
    dev CPU: about 2 minutes of compilation and no speed-up over eager, so TorchScript stays
    the "best trick" row. Its tracer warnings (GRU shape checks turned into constants) are
    silenced here because this row's parity columns check the trace on real sequences.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=torch.jit.TracerWarning)
        warnings.simplefilter("ignore", category=FutureWarning)  # torch.jit deprecation
        traced = torch.jit.trace(module, inputs, check_trace=False)
        return torch.jit.optimize_for_inference(torch.jit.freeze(traced.eval()))


def open_torch_runners(model: Any, *, example: Tuple[np.ndarray, np.ndarray],
                       threads: int) -> List[Any]:
    """Eager FP32 (the reference) and TorchScript FP32 on the best device; TorchScript FP16
    too where a GPU exists (FP16 on a CPU is emulated and only slower).

    `example`: real frames [sum T_i,3,H,W] of a few sequences and their mask [B,T], to trace
    with; sequences of different lengths, so a trace that baked one in would show in parity.
    """
    if threads > 0:
        torch.set_num_threads(threads)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    model = model.eval().to(device)
    eager = TorchEagerRunner(model, device=device)
    frames, mask = example
    traced_on = (frames, _padded(eager.encode(frames), mask), mask)
    runners: List[Any] = [
        eager,
        TorchScriptRunner(model, device=device, precision="fp32", example=traced_on),
    ]
    if device == "cuda":
        half = copy.deepcopy(model).half()
        runners.append(TorchScriptRunner(half, device=device, precision="fp16",
                                         example=traced_on))
    return runners


def _padded(embeddings: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """[sum T_i,E] -> [B,T,E], zero after each sequence's real frames."""
    padded = np.zeros(mask.shape + embeddings.shape[1:], dtype=np.float32)
    padded[mask > 0.5] = embeddings
    return padded


def load_checkpoint(checkpoint: Path) -> Any:
    """The trained JerseyNet (eval mode) with its config and training record."""
    from ..model import net

    return net.load_checkpoint(checkpoint)
