"""Training-only per-frame digit loss: every frame's embedding must read the number too.

The sequence loss reaches the encoder only through attention pooling, which in early
training spreads one label's gradient thinly over all frames. A digit classifier on each
real frame's embedding gives the encoder a direct signal per frame, so a short CPU run
learns to read digits in far fewer steps. Each frame's loss is weighted by its legibility
(`frame_weights`, below): a frame whose number is hidden should not be taught to read it
anyway; with legibility scores, attention is also shown which frames to prefer. It lives
outside JerseyNet: checkpoints, export and the runtime never see it.
"""

from typing import Tuple

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from ..model.config import ModelConfig
from ..model.head import DigitReader


class FrameDigitHead(nn.Module):
    """Embeddings [B,T,E] -> per-frame tens [B,T,num_tens] and ones [B,T,num_ones] logits, in
    the model's own digit layout (shared by both positions, or a linear layer each)."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.shared_digits = cfg.shared_digits
        if cfg.shared_digits:
            self.digits = DigitReader(cfg.embed_dim, cfg.num_tens, cfg.num_ones)
        else:
            self.tens = nn.Linear(cfg.embed_dim, cfg.num_tens)
            self.ones = nn.Linear(cfg.embed_dim, cfg.num_ones)

    def forward(self, frames: Tensor) -> Tuple[Tensor, Tensor]:
        if self.shared_digits:
            tens, ones = self.digits(frames)
            return tens, ones
        return self.tens(frames), self.ones(frames)

    def loss(self, embeddings: Tensor, weights: Tensor, tens: Tensor, ones: Tensor,
             label_smoothing: float) -> Tensor:
        """Weighted mean tens + ones loss over the frames (weights [B,T]: 0 for padding)."""
        valid = weights > 0
        frames = embeddings[valid]
        w = weights[valid]
        t = tens.unsqueeze(1).expand_as(weights)[valid]
        o = ones.unsqueeze(1).expand_as(weights)[valid]
        tens_logits, ones_logits = self(frames)
        per_frame = (F.cross_entropy(tens_logits.float(), t, reduction="none",
                                     label_smoothing=label_smoothing)
                     + F.cross_entropy(ones_logits.float(), o, reduction="none",
                                       label_smoothing=label_smoothing))
        return (per_frame * w).sum() / w.sum().clamp_min(1e-6)


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
