"""The PyTorch rows: the eager FP32 reference and TorchScript (FP16 too on a GPU).

This module imports torch at the top on purpose: the harness imports it only after checking
that torch is installed, so the runtime-only path (a Jetson) never touches it.
"""

from typing import Any, List, Tuple

import numpy as np
import torch

from ..core.two_stage import pad_sequences
from ..model.reference import TorchTwoStage, TracedTwoStage
from .runners import Runner


def open_torch_runners(model: Any, *, example: Tuple[np.ndarray, np.ndarray],
                       threads: int) -> List[Runner]:
    """Eager FP32 (the reference) and TorchScript FP32 on the best device; TorchScript FP16
    too where a GPU exists (FP16 on a CPU is emulated and only slower).

    `example`: real frames [sum T_i,3,H,W] of a few sequences and their mask [B,T], to trace
    with; sequences of different lengths, so a trace that baked one in would show in parity.
    Each encoder call takes the whole batch it is given, as the timed batch sizes mean.
    """
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
