"""Run a model over a loader and collect logits: shared by validation and `evaluate`."""

import contextlib
from dataclasses import dataclass
from typing import Iterable, Optional

import numpy as np
import torch
from tqdm import tqdm

from ..core.digits import Accuracy, accuracy
from ..model.net import JerseyNet


@dataclass
class LabelledLogits:
    tens: np.ndarray
    ones: np.ndarray
    tens_true: np.ndarray
    ones_true: np.ndarray

    def accuracy(self) -> Accuracy:
        return accuracy(self.tens, self.ones, self.tens_true, self.ones_true)


def autocast(device: torch.device, enabled: bool, *,
             cpu: bool = False) -> contextlib.AbstractContextManager:
    """bf16 autocast on CUDA. On the CPU only where asked (`cpu`: inference-only passes such as
    the trunk cache, 5.0 instead of 14.2 ms a frame with AMX) and the CPU has native bf16:
    training steps of this model ran ~1.8x slower in bf16 than fp32 there (depthwise-conv
    backward), measured on 2 cores."""
    if enabled and (device.type == "cuda" or (cpu and native_cpu_bf16(device))):
        return torch.autocast(device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


def native_cpu_bf16(device: torch.device) -> bool:
    """Whether `device` is a CPU with native bf16 (AVX512-BF16)."""
    return device.type == "cpu" and bool(getattr(torch.cpu, "_is_avx512_bf16_supported",
                                                 lambda: False)())


def embed_batch(model: JerseyNet, batch: dict, device: torch.device) -> torch.Tensor:
    """Per-frame embeddings [B,T,E] of a loader batch: from its "frames", or from the cached
    trunk outputs in "features" (train/trunk_cache.py)."""
    if "features" in batch:
        return model.embed_trunk_features(batch["features"].to(device))
    return model.embed(batch["frames"].to(device))


@torch.no_grad()
def collect_logits(model: JerseyNet, loader: Iterable[dict], *, device: torch.device,
                   amp: bool = False, desc: Optional[str] = None) -> LabelledLogits:
    model.eval()
    tens, ones, tens_true, ones_true = [], [], [], []
    for batch in tqdm(loader, desc=desc, leave=False, disable=desc is None):
        with autocast(device, amp):
            t, o, _ = model.head(embed_batch(model, batch, device), batch["mask"].to(device))
        tens.append(t.float().cpu().numpy())
        ones.append(o.float().cpu().numpy())
        tens_true.append(batch["tens"].numpy())
        ones_true.append(batch["ones"].numpy())
    return LabelledLogits(*(np.concatenate(x) for x in (tens, ones, tens_true, ones_true)))
