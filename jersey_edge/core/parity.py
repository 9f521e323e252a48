"""Does a faster path still read the same numbers? Accuracy, agreement and logit drift.

Agreement (the same predicted number as the reference) is what a user notices; max
|Δlogit| is the early warning (an FP16 overflow or a bad INT8 scale shows there before it
flips predictions on a small set). Export's verification and the benchmark both use this.
"""

from dataclasses import dataclass
from typing import Optional, Tuple

import numpy as np

from .metrics import accuracy, decode_numbers
from .two_stage import Logits

Targets = Tuple[np.ndarray, np.ndarray]  # tens [S] (10 = blank), ones [S]


@dataclass(frozen=True)
class Parity:
    n: int
    number_acc: Optional[float]  # None without targets (or without sequences)
    agreement: Optional[float]  # None without a reference; 1.0 on an empty set
    max_abs_logit_diff: Optional[float]  # None without a reference; 0.0 on an empty set


def compare(logits: Logits, reference: Optional[Logits],
            targets: Optional[Targets] = None) -> Parity:
    """Accuracy against `targets`; agreement and drift against `reference`."""
    tens, ones = logits
    n = len(tens)
    number_acc = None
    if targets is not None and n:
        number_acc = accuracy(tens, ones, *targets).number_acc
    if reference is None:
        return Parity(n, number_acc, None, None)
    if not n:
        return Parity(n, number_acc, 1.0, 0.0)
    ref_tens, ref_ones = reference
    agreement = float((decode_numbers(tens, ones) == decode_numbers(ref_tens, ref_ones)).mean())
    drift = max(float(np.abs(tens - ref_tens).max()), float(np.abs(ones - ref_ones).max()))
    return Parity(n, number_acc, agreement, drift)
