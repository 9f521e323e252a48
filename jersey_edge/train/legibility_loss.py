"""Legibility as supervision (data/legibility.py): where the data says how readable each
frame is, the per-frame digit loss counts a frame by it, and the attention is taught to
prefer the readable frames. A sequence without scores counts every real frame fully and adds
no attention loss, so real datasets train as before.
"""

import torch
from torch import Tensor

# Legibility from which a frame counts fully in the per-frame loss. The generator's score is
# the least-shown digit fraction x camera quality; by eye, frames below ~0.1 are mostly
# unreadable (synth.json's HARD) and frames above ~0.3 readable.
FULLY_LEGIBLE = 0.3
_EPS = 1e-6


def frame_weights(legibility: Tensor, known: Tensor, mask: Tensor) -> Tensor:
    """[B,T] weight of each frame in the per-frame loss: 0 for padding, 1 where unknown."""
    scored = (legibility / FULLY_LEGIBLE).clamp(0.0, 1.0)
    return torch.where(known.unsqueeze(1) > 0, scored, torch.ones_like(scored)) * (mask > 0)


def attention_loss(attention: Tensor, legibility: Tensor, known: Tensor, mask: Tensor) -> Tensor:
    """KL(target || attention) averaged over sequences with scores; the target spreads the
    attention over the real frames in proportion to their legibility."""
    valid = (mask > 0).to(attention.dtype)
    target = (legibility.clamp_min(0.0) + _EPS) * valid
    target = target / target.sum(dim=1, keepdim=True)
    kl = (target * (torch.log(target + _EPS) - torch.log(attention.float() + _EPS))).sum(dim=1)
    weight = (known > 0).to(kl.dtype)
    return (kl * weight).sum() / weight.sum().clamp_min(1.0)
