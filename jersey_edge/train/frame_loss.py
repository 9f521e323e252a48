"""Training-only per-frame digit loss: every frame's embedding must read the number too.

The sequence loss reaches the encoder only through attention pooling, which in early
training spreads one label's gradient thinly over all frames. A linear digit classifier on
each real frame's embedding gives the encoder a direct signal per frame, so a short CPU run
learns to read digits in far fewer steps. It lives outside JerseyNet: checkpoints, export
and the runtime never see it.
"""

from torch import Tensor, nn

from ..model.config import ModelConfig


class FrameDigitHead(nn.Module):
    """Embeddings [B,T,E] -> per-frame tens [B,T,num_tens] and ones [B,T,num_ones] logits."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.tens = nn.Linear(cfg.embed_dim, cfg.num_tens)
        self.ones = nn.Linear(cfg.embed_dim, cfg.num_ones)

    def loss(self, embeddings: Tensor, mask: Tensor, tens: Tensor, ones: Tensor,
             criterion: nn.CrossEntropyLoss) -> Tensor:
        """Mean tens + ones loss over the real frames (mask > 0) of every sequence."""
        valid = mask > 0
        frames = embeddings[valid]
        t = tens.unsqueeze(1).expand_as(mask)[valid]
        o = ones.unsqueeze(1).expand_as(mask)[valid]
        return criterion(self.tens(frames).float(), t) + criterion(self.ones(frames).float(), o)
