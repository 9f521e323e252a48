"""The PyTorch model behind the same encode/classify interface as the runtime's Recognizer,
so parity code runs the reference and every exported graph pair the same way."""

import copy
from typing import Tuple

import numpy as np
import torch
from torch import nn

ENCODE_BATCH = 64


class TorchReference:
    """FP32 PyTorch encoder + head on the CPU, in eval mode, without autograd.

    The encoder runs on a channels-last copy: oneDNN's depthwise convolutions are ~1.5x
    faster in that layout on CPU, with the same FP32 math (outputs equal to ~1e-6), and the
    modules being exported are left untouched.
    """

    name = "PyTorch"

    def __init__(self, encoder: nn.Module, head: nn.Module) -> None:
        self.encoder = copy.deepcopy(encoder).eval().to(memory_format=torch.channels_last)
        self.head = head.eval()

    @torch.inference_mode()
    def encode(self, frames: np.ndarray) -> np.ndarray:
        """[N,3,H,W] float32 -> [N,E], in chunks so memory stays flat."""
        chunks = [
            self.encoder(torch.from_numpy(frames[i:i + ENCODE_BATCH])
                         .contiguous(memory_format=torch.channels_last)).numpy()
            for i in range(0, len(frames), ENCODE_BATCH)
        ]
        return np.concatenate(chunks).astype(np.float32, copy=False)

    @torch.inference_mode()
    def classify(self, embeddings: np.ndarray, mask: np.ndarray
                 ) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
        """[B,T,E] + [B,T] -> tens [B,11], ones [B,10], attention [B,T]."""
        tens, ones, attention = self.head(torch.from_numpy(embeddings), torch.from_numpy(mask))
        return tens.numpy(), ones.numpy(), attention.numpy()

    def close(self) -> None:
        """Nothing to release; present so every runner can be closed alike."""
