"""When to say "no legible number": accept a prediction only above a confidence threshold.

A prediction's confidence is P(tens) * P(ones) of its argmax digits. Accepting the sequences
whose confidence is at least t trades coverage (the fraction accepted) for accuracy among the
accepted. Export picks t on the validation split for a target precision; `evaluate` reports
the whole trade-off. A sequence without a true number (illegible) is never a right answer:
accepted, it counts as wrong.
"""

from dataclasses import dataclass
from typing import Dict, NamedTuple, Optional, Tuple

import numpy as np

from .digits import BLANK, NUM_ONES
from .errors import InputError

DEFAULT_TARGET_PRECISION = 0.95
# Below this many accepted sequences one error moves precision by more than 5 points, the
# whole gap between a 95% target and perfection: such a threshold measures nothing.
MIN_ACCEPTED = 20


class CoverageCurve(NamedTuple):
    """One entry per candidate threshold, ascending; accuracy is among accepted sequences."""

    thresholds: np.ndarray
    coverage: np.ndarray
    accuracy: np.ndarray


@dataclass(frozen=True)
class OperatingPoint:
    """What accepting confidence >= `threshold` gives on a set of sequences."""

    threshold: float
    accepted: int
    coverage: float
    accuracy: Optional[float]  # None when nothing is accepted

    def to_dict(self) -> Dict[str, Optional[float]]:
        return {"threshold": self.threshold, "coverage": self.coverage,
                "accuracy": self.accuracy}


def number_correct(tens_logits: np.ndarray, ones_logits: np.ndarray,
                   tens_true: np.ndarray, ones_true: np.ndarray) -> np.ndarray:
    """[S] bool: both argmax digits equal the true digits. A sequence with no true number
    (digits outside tens 0-10 / ones 0-9, e.g. -1 for illegible) is never correct."""
    tens_true, ones_true = np.asarray(tens_true), np.asarray(ones_true)
    legible = (tens_true >= 0) & (tens_true <= BLANK) & (ones_true >= 0) & (ones_true < NUM_ONES)
    return (legible & (np.asarray(tens_logits).argmax(-1) == tens_true)
            & (np.asarray(ones_logits).argmax(-1) == ones_true))


def coverage_curve(confidence: np.ndarray, correct: np.ndarray) -> CoverageCurve:
    """Coverage and accuracy at every threshold that changes which sequences are accepted.

    The thresholds are 0 (accept everything) and each distinct confidence, ascending; tied
    confidences are accepted or refused together. Empty inputs give empty arrays.
    """
    confidence, correct = _checked(confidence, correct)
    thresholds, accepted, hits = _accepted_counts(confidence, correct)
    return CoverageCurve(thresholds, accepted / max(len(confidence), 1),
                         hits / np.maximum(accepted, 1))


def choose_threshold(confidence: np.ndarray, correct: np.ndarray, target_precision: float,
                     min_accepted: int = 1) -> Optional[float]:
    """The lowest threshold (most coverage) whose accepted sequences are correct at least
    `target_precision` of the time and number at least `min_accepted`; None if none is."""
    if not 0.0 <= target_precision <= 1.0:
        raise InputError(f"target precision must be in [0, 1], got {target_precision}")
    if min_accepted < 1:
        raise InputError(f"min_accepted must be at least 1, got {min_accepted}")
    thresholds, accepted, hits = _accepted_counts(*_checked(confidence, correct))
    meets = (accepted >= min_accepted) & (hits / np.maximum(accepted, 1) >= target_precision)
    if not meets.any():
        return None
    return float(thresholds[int(np.argmax(meets))])


def _accepted_counts(confidence: np.ndarray,
                     correct: np.ndarray) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Candidate thresholds ascending, and how many sequences each accepts / gets right."""
    n = len(confidence)
    if n == 0:
        return np.zeros(0), np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    order = np.argsort(-confidence, kind="stable")
    descending = confidence[order]
    last_of_value = np.append(descending[1:] != descending[:-1], True)
    thresholds = descending[last_of_value]
    accepted = np.arange(1, n + 1)[last_of_value]
    hits = np.cumsum(correct[order])[last_of_value]
    if thresholds[-1] > 0.0:
        thresholds = np.append(thresholds, 0.0)
        accepted, hits = np.append(accepted, n), np.append(hits, hits[-1])
    return thresholds[::-1].copy(), accepted[::-1].copy(), hits[::-1].copy()


def operating_point(confidence: np.ndarray, correct: np.ndarray,
                    threshold: float) -> OperatingPoint:
    """Coverage and accuracy of accepting confidence >= `threshold`."""
    confidence, correct = _checked(confidence, correct)
    accepted = confidence >= threshold
    count = int(accepted.sum())
    coverage = count / len(confidence) if len(confidence) else 0.0
    accuracy = float(correct[accepted].mean()) if count else None
    return OperatingPoint(threshold=float(threshold), accepted=count, coverage=float(coverage),
                          accuracy=accuracy)


def _checked(confidence: np.ndarray, correct: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    confidence = np.asarray(confidence, dtype=np.float64)
    correct = np.asarray(correct, dtype=bool)
    if confidence.ndim != 1 or confidence.shape != correct.shape:
        raise InputError(f"confidence {confidence.shape} and correct {correct.shape} must be "
                         "1-D arrays of the same length, one value per sequence")
    if not np.isfinite(confidence).all() or (confidence < 0).any() or (confidence > 1).any():
        raise InputError("confidences must be probabilities in [0, 1]")
    return confidence, correct
