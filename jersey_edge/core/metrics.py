"""Digit and number accuracy from logits, in numpy so training, export and bench share it."""

from dataclasses import dataclass
from typing import Dict, Tuple

import numpy as np

from .labels import BLANK


def decode_numbers(tens_logits: np.ndarray, ones_logits: np.ndarray) -> np.ndarray:
    """[B,11], [B,10] logits -> [B] jersey numbers."""
    tens = tens_logits.argmax(-1)
    ones = ones_logits.argmax(-1)
    return np.where(tens == BLANK, ones, tens * 10 + ones)


def decision_margin(tens_logits: np.ndarray, ones_logits: np.ndarray) -> np.ndarray:
    """[B] probability gap between the predicted number and the runner-up.

    The number's probability is p(tens) * p(ones); the runner-up changes one digit.
    """
    tens, ones = _top2(_softmax(tens_logits)), _top2(_softmax(ones_logits))
    best = tens[:, 0] * ones[:, 0]
    return best - np.maximum(tens[:, 1] * ones[:, 0], tens[:, 0] * ones[:, 1])


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)


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
