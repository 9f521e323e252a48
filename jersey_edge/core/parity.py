"""Does a faster path still read the same numbers? Accuracy, agreement and logit drift.

Agreement (the same predicted number as the reference) is what a user notices; max
|Δlogit| is the early warning (an FP16 overflow or a bad INT8 scale shows there before it
flips predictions on a small set). Export's verification and the benchmark both use this.
"""

from dataclasses import dataclass
from typing import Dict, Optional, Tuple, Union

import numpy as np

from .digits import accuracy, decode_numbers
from .two_stage import Logits

Truth = Tuple[np.ndarray, np.ndarray]  # true tens [S] (10 = blank), ones [S]


@dataclass(frozen=True)
class Parity:
    n: int
    number_acc: Optional[float]  # None without truth (or without sequences)
    agreement: Optional[float]  # None without a reference; 1.0 on an empty set
    max_abs_logit_diff: Optional[float]  # None without a reference; 0.0 on an empty set


def compare(logits: Logits, reference: Optional[Logits],
            truth: Optional[Truth] = None) -> Parity:
    """Accuracy against `truth`; agreement and drift against `reference`."""
    tens, ones = logits
    n = len(tens)
    number_acc = None
    if truth is not None and n:
        number_acc = accuracy(tens, ones, *truth).number_acc
    if reference is None:
        return Parity(n, number_acc, None, None)
    if not n:
        return Parity(n, number_acc, 1.0, 0.0)
    ref_tens, ref_ones = reference
    agreement = float((decode_numbers(tens, ones) == decode_numbers(ref_tens, ref_ones)).mean())
    drift = max(float(np.abs(tens - ref_tens).max()), float(np.abs(ones - ref_ones).max()))
    return Parity(n, number_acc, agreement, drift)


# Below this many split sequences one flipped prediction moves accuracy by > 2 points: the
# accuracy and agreement targets are then not judged (golden cosines still are, for INT8).
MIN_JUDGED_SEQUENCES = 50
# A sequence whose PyTorch number probability beats the runner-up by less than this is a tie:
# a rounding difference of 1e-3 may flip it. FP16 agreement is judged on decided sequences.
TIE_MARGIN = 0.01


@dataclass(frozen=True)
class ParityRow:
    """One graph pair (or the PyTorch reference) as export's verification measured it.

    golden_*: on golden.npz against PyTorch's logits and embeddings; the rest on `split`.
    decided_*: the same on the sequences PyTorch decides by at least TIE_MARGIN.
    target: the tolerance it is judged by, as text; ok: whether it is met (None: too few
    sequences to judge, or the reference).
    """

    name: str
    precision: str
    encoder: Optional[str]
    head: Optional[str]
    golden_max_abs_diff: Optional[float]
    golden_agreement: Optional[float]
    golden_cosine_mean: Optional[float]
    golden_cosine_min: Optional[float]
    split: str
    n: int
    number_acc: Optional[float]
    acc_delta_points: Optional[float]
    agreement: Optional[float]
    decided_n: Optional[int]
    decided_agreement: Optional[float]
    decided_acc_delta_points: Optional[float]
    target: str
    ok: Optional[bool]

    @property
    def judged(self) -> bool:
        """Enough split sequences, with a reference, for accuracy and agreement to count."""
        return (self.n >= MIN_JUDGED_SEQUENCES and self.acc_delta_points is not None
                and self.agreement is not None)


@dataclass(frozen=True)
class Fp32Tolerance:
    """The same graph in the same arithmetic: logits within rounding, every number the same."""

    max_abs: float = 1e-4

    def __str__(self) -> str:
        return f"golden |Δ|<={self.max_abs:g}, agree 100%"

    def met(self, row: ParityRow) -> Optional[bool]:
        return bool(row.golden_max_abs_diff is not None
                    and row.golden_max_abs_diff <= self.max_abs
                    and row.golden_agreement == 1.0)


@dataclass(frozen=True)
class Fp16Tolerance:
    """Judged on decided sequences only: a tie may flip either way under rounding."""

    min_agreement: float = 0.995
    max_delta_points: float = 0.3

    def __str__(self) -> str:
        return (f"agree>={self.min_agreement:.1%}, |Δacc|<={self.max_delta_points}pt on "
                f"sequences PyTorch decides by >={TIE_MARGIN}")

    def met(self, row: ParityRow) -> Optional[bool]:
        if not row.judged:
            return None
        agree, shift = row.decided_agreement, row.decided_acc_delta_points
        return bool((agree is None or agree >= self.min_agreement)
                    and (shift is None or abs(shift) <= self.max_delta_points))


@dataclass(frozen=True)
class Int8Tolerance:
    """Accuracy and agreement on the split, and embeddings that still point the same way
    (cosine to PyTorch's on the golden frames), which a small split cannot hide."""

    max_delta_points: float = 1.0
    min_agreement: float = 0.95
    min_cosine_mean: float = 0.99
    min_cosine: float = 0.95

    def __str__(self) -> str:
        return (f"|Δacc|<={self.max_delta_points}pt, agree>={self.min_agreement:.0%}, golden "
                f"cos mean>={self.min_cosine_mean}, min>={self.min_cosine}")

    def met(self, row: ParityRow) -> Optional[bool]:
        faithful = (row.golden_cosine_mean is not None and row.golden_cosine_min is not None
                    and row.golden_cosine_mean >= self.min_cosine_mean
                    and row.golden_cosine_min >= self.min_cosine)
        if not row.judged:
            return None if faithful else False
        assert row.agreement is not None and row.acc_delta_points is not None
        return bool(faithful and row.agreement >= self.min_agreement
                    and abs(row.acc_delta_points) <= self.max_delta_points)


TOLERANCES: Dict[str, Union[Fp32Tolerance, Fp16Tolerance, Int8Tolerance]] = {
    "fp32": Fp32Tolerance(), "fp16": Fp16Tolerance(), "int8": Int8Tolerance()}
