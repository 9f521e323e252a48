"""Temporal head: frame embeddings [B,T,E] + mask [B,T] -> tens/ones logits and attention.

It must give the same answer for a sequence whether it is padded to max_frames or not, in
PyTorch, ONNX Runtime and TensorRT alike. `pack_padded_sequence` does not export, so the
bi-GRU is two forward GRUs: the backward one reads each sequence reversed *within its own
length* through a gather, and its outputs are gathered back into time order. Padded slots are
zeroed first, so whatever sits there (even NaN) cannot reach a real frame, and attention gives
them exactly zero weight.
"""

from typing import Tuple

import torch
from torch import Tensor, nn

from .config import ModelConfig

# Finite, so the masking stays exact in FP16 (max 65504) and a fully masked row gives no NaN;
# exp(-1e4 - max) underflows to exactly 0 next to any real score.
MASKED_SCORE = -1e4


def reverse_index(valid: Tensor) -> Tensor:
    """[B,T] bool (valid frames first) -> [B,T] long: len_b-1-t for t < len_b, else t.

    The index is its own inverse, so the same gather reverses inputs and restores outputs.
    T is read from a batch-free reduction: its shape is fully static when exported with a
    fixed T, so the TorchScript exporter folds the time index into a constant and the graph
    keeps no shape arithmetic except on the batch axis (`valid.shape[1]` would leave
    Shape -> Gather -> Range in it). Eagerly it is just T, for any T.
    """
    lengths = valid.long().sum(dim=1, keepdim=True)
    steps = torch.arange(valid.sum(dim=0).shape[0], device=valid.device).unsqueeze(0)
    return torch.where(steps < lengths, lengths - 1 - steps, steps)


def gather_time(x: Tensor, index: Tensor) -> Tensor:
    """x [B,T,C], index [B,T] -> x[b, index[b,t], :]."""
    return torch.gather(x, 1, index.unsqueeze(-1).expand_as(x))


class TemporalHead(nn.Module):
    """Padding-invariant bi-GRU + masked attention pooling + digit classifiers: a linear layer
    per position, or with cfg.shared_digits one classifier shared by both (model/digits.py).

    mask is float [B,T] (1 = real frame, 0 = padding): every backend feeds float inputs the
    same way. Real frames must come first (right padding).
    """

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.forward_gru = nn.GRU(cfg.embed_dim, cfg.hidden, batch_first=True)
        self.backward_gru = nn.GRU(cfg.embed_dim, cfg.hidden, batch_first=True)
        both = 2 * cfg.hidden
        self.attention = nn.Sequential(
            nn.Linear(both, cfg.attn_dim), nn.Tanh(), nn.Linear(cfg.attn_dim, 1)
        )
        self.dropout = nn.Dropout(cfg.dropout)
        self.shared_digits = cfg.shared_digits
        if cfg.shared_digits:
            self.digits = DigitReader(both, cfg.num_tens, cfg.num_ones)
        else:
            self.tens = nn.Linear(both, cfg.num_tens)
            self.ones = nn.Linear(both, cfg.num_ones)

    def forward(self, embeddings: Tensor, mask: Tensor) -> Tuple[Tensor, Tensor, Tensor]:
        """-> tens logits [B,num_tens], ones logits [B,num_ones], attention [B,T]."""
        valid = mask > 0
        emb = torch.where(valid.unsqueeze(-1), embeddings, 0.0)
        rev = reverse_index(valid)
        h_forward, _ = self.forward_gru(emb)
        h_backward, _ = self.backward_gru(gather_time(emb, rev))
        h = torch.cat([h_forward, gather_time(h_backward, rev)], dim=-1)
        scores = self.attention(h).squeeze(-1)
        scores = torch.where(valid, scores, MASKED_SCORE)
        # A fully masked row softmaxes to uniform; the mask then zeroes it instead of NaN.
        attn = torch.softmax(scores, dim=-1)
        attn = attn * valid.to(attn.dtype)
        pooled = self.dropout(torch.sum(attn.unsqueeze(-1) * h, dim=1))
        if self.shared_digits:
            tens, ones = self.digits(pooled)
            return tens, ones, attn
        return self.tens(pooled), self.ones(pooled), attn


TENS, ONES = 0, 1


class DigitReader(nn.Module):
    """Features [..., dim] -> tens logits [..., num_tens], ones logits [..., num_ones]."""

    def __init__(self, dim: int, num_tens: int, num_ones: int) -> None:
        super().__init__()
        if num_ones > num_tens:
            raise ValueError("the tens position holds every ones class plus blank")
        self.num_ones = num_ones
        # Distinct random shifts, so the two positions differ from the first step.
        self.position_scale = nn.Parameter(torch.ones(2, dim))
        self.position_shift = nn.Parameter(torch.randn(2, dim) * 0.1)
        self.classify = nn.Sequential(nn.Linear(dim, dim), nn.Hardswish(),
                                      nn.Linear(dim, num_tens))

    def forward(self, features: Tensor) -> Tuple[Tensor, Tensor]:
        tens = self.classify(features * self.position_scale[TENS] + self.position_shift[TENS])
        ones = self.classify(features * self.position_scale[ONES] + self.position_shift[ONES])
        return tens, ones[..., : self.num_ones]
