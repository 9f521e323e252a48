"""One digit classifier shared by the tens and ones positions.

A separate linear head per position lets the model file "7 in the tens place" and "7 in the
ones place" as unrelated classes, so a two-digit combination never seen in training is read
poorly. Here both positions go through the same classifier; a learned per-position scale and
shift (a position embedding) selects the features of that position first. Tens keeps the
classifier's eleventh logit ("blank": a one-digit number), ones drops it. Outputs keep the
two-head shapes, tens [B,11] and ones [B,10], so export and the runtime see no change.
"""

from typing import Tuple

import torch
from torch import Tensor, nn

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
