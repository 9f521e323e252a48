"""Reading a number as two digits: tens (0-9 or blank) and ones (0-9), their probabilities,
confidence and accuracy, in numpy so training, export, the runtime and bench share them.

Predicting digits separately lets the model read two-digit combinations it never saw.
"""

import re
from dataclasses import dataclass
from typing import Dict, Tuple

import numpy as np

from .errors import InputError

BLANK = 10
NUM_TENS = 11
NUM_ONES = 10
MAX_NUMBER = 99


def number_to_digits(number: int) -> Tuple[int, int]:
    """7 -> (BLANK, 7); 48 -> (4, 8)."""
    if not 0 <= number <= MAX_NUMBER:
        raise InputError(f"jersey number must be 0-{MAX_NUMBER}, got {number}")
    return (BLANK if number < 10 else number // 10), number % 10


def digits_to_number(tens: int, ones: int) -> int:
    """(BLANK, 7) -> 7; (4, 8) -> 48; (0, 5) -> 5, since '05' is read as the number 5."""
    return ones if tens == BLANK else tens * 10 + ones


# ASCII digits only: '²' and '①' pass str.isdigit() but int() refuses them.
_CANONICAL_LABEL = re.compile(r"0|[1-9][0-9]?")


def parse_label(name: str) -> int:
    """Folder name -> number. Only canonical '0'..'99' are labels ('07' and '100' are not)."""
    if not _CANONICAL_LABEL.fullmatch(name):
        raise InputError(f"{name!r} is not a jersey-number label (expected 0-{MAX_NUMBER})")
    return int(name)


def label_layout() -> dict:
    """What travels in checkpoints and manifests so no one re-guesses the heads."""
    return {"tens_classes": NUM_TENS, "ones_classes": NUM_ONES, "blank_index": BLANK}


def probabilities(logits: np.ndarray) -> np.ndarray:
    """[..., C] logits -> softmax, computed in float64 and rounded to float32.

    The one softmax of the package: the runtime's predictions, export's abstain threshold
    and evaluation all read the same numbers, so a threshold chosen on one splits the
    others' confidences the same way.
    """
    values = np.asarray(logits, dtype=np.float64)
    shifted = np.exp(values - values.max(axis=-1, keepdims=True))
    return (shifted / shifted.sum(axis=-1, keepdims=True)).astype(np.float32)


def confidence(tens_probs: np.ndarray, ones_probs: np.ndarray) -> np.ndarray:
    """P(tens) * P(ones) of the argmax digits (float64), per sequence."""
    return (tens_probs.max(axis=-1).astype(np.float64)
            * ones_probs.max(axis=-1).astype(np.float64))


def number_confidence(tens_logits: np.ndarray, ones_logits: np.ndarray) -> np.ndarray:
    """[S,11], [S,10] logits -> [S] confidence of the predicted numbers."""
    return confidence(probabilities(tens_logits), probabilities(ones_logits))


def decode_numbers(tens_logits: np.ndarray, ones_logits: np.ndarray) -> np.ndarray:
    """[B,11], [B,10] logits -> [B] jersey numbers."""
    tens = tens_logits.argmax(-1)
    ones = ones_logits.argmax(-1)
    return np.where(tens == BLANK, ones, tens * 10 + ones)


def decision_margin(tens_logits: np.ndarray, ones_logits: np.ndarray) -> np.ndarray:
    """[B] probability gap between the predicted number and the runner-up.

    The number's probability is p(tens) * p(ones); the runner-up changes one digit.
    """
    tens, ones = _top2(probabilities(tens_logits)), _top2(probabilities(ones_logits))
    best = tens[:, 0] * ones[:, 0]
    return best - np.maximum(tens[:, 1] * ones[:, 0], tens[:, 0] * ones[:, 1])


def _top2(probs: np.ndarray) -> np.ndarray:
    return -np.sort(-probs, axis=-1)[:, :2]


@dataclass(frozen=True)
class Accuracy:
    number_acc: float
    tens_acc: float
    ones_acc: float
    n: int

    def number_ci95(self) -> Tuple[float, float]:
        return wilson_interval(round(self.number_acc * self.n), self.n)

    def to_dict(self) -> Dict[str, object]:
        return {"number_acc": self.number_acc, "number_ci95": list(self.number_ci95()),
                "tens_acc": self.tens_acc, "ones_acc": self.ones_acc, "n": self.n}


Z95 = 1.959964  # two-sided 95% quantile of the standard normal


def wilson_interval(successes: int, n: int, z: float = Z95) -> Tuple[float, float]:
    """95% Wilson score interval of a proportion: unlike the normal approximation it stays
    inside [0, 1] and is honest at the n (100-300) and accuracies (50-100%) we report."""
    if n <= 0:
        return 0.0, 1.0
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return float(max(0.0, centre - half)), float(min(1.0, centre + half))


def accuracy(tens_logits: np.ndarray, ones_logits: np.ndarray,
             tens_true: np.ndarray, ones_true: np.ndarray) -> Accuracy:
    """A number is right only when both digits are."""
    tens_ok = tens_logits.argmax(-1) == tens_true
    ones_ok = ones_logits.argmax(-1) == ones_true
    n = len(tens_true)
    if n == 0:
        return Accuracy(0.0, 0.0, 0.0, 0)
    return Accuracy(
        number_acc=float((tens_ok & ones_ok).mean()),
        tens_acc=float(tens_ok.mean()),
        ones_acc=float(ones_ok.mean()),
        n=n,
    )
