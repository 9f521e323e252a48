"""Training-only per-frame digit loss: every frame's embedding must read the number too.

The sequence loss reaches the encoder only through attention pooling, which in early
training spreads one label's gradient thinly over all frames. A digit classifier on each
real frame's embedding gives the encoder a direct signal per frame, so a short CPU run
learns to read digits in far fewer steps. Each frame's loss is weighted (train/legibility_loss.py):
a frame whose number is hidden should not be taught to read it anyway. It lives outside
JerseyNet: checkpoints, export and the runtime never see it.
"""

from typing import Tuple

from torch import Tensor, nn
from torch.nn import functional as F

from ..model.config import ModelConfig
from ..model.digits import DigitReader


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
