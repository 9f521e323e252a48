"""What the recognizer returns, and how logits become one."""

from dataclasses import dataclass
from typing import Any, Dict

import numpy as np

from ..core.errors import ArtifactError
from ..core.labels import BLANK, digits_to_number


@dataclass(frozen=True)
class Prediction:
    number: int
    confidence: float  # P(tens) * P(ones) of the chosen digits
    tens_probs: np.ndarray  # [11], index 10 = blank (single-digit number)
    ones_probs: np.ndarray  # [10]
    attention: np.ndarray  # [frames used], sums to 1

    @property
    def tens(self) -> int:
        return int(self.tens_probs.argmax())

    @property
    def ones(self) -> int:
        return int(self.ones_probs.argmax())

    def to_dict(self) -> Dict[str, Any]:
        return {
            "number": self.number,
            "confidence": round(self.confidence, 6),
            "tens": None if self.tens == BLANK else self.tens,
            "ones": self.ones,
            "tens_probs": [round(float(p), 6) for p in self.tens_probs],
            "ones_probs": [round(float(p), 6) for p in self.ones_probs],
            "attention": [round(float(a), 6) for a in self.attention],
        }


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=-1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=-1, keepdims=True)


def require_finite(values: np.ndarray, what: str) -> np.ndarray:
    """Refuse NaN/inf model outputs: they would read as a number with NaN confidence.

    Checked where outputs become predictions (and embeddings before they are cached), not
    in `Recognizer.encode`/`classify`, which parity and benchmarks use to measure raw graphs.
    """
    if not np.isfinite(values).all():
        raise ArtifactError(
            f"the model produced non-finite {what} (NaN or infinity): its weights or graphs "
            "are broken; re-export the artifacts from a checkpoint with finite weights")
    return values


def to_prediction(tens_logits: np.ndarray, ones_logits: np.ndarray, attention: np.ndarray,
                  num_frames: int) -> Prediction:
    """One row of head outputs -> Prediction (attention cut to the frames that were real)."""
    require_finite(tens_logits, "tens scores")
    require_finite(ones_logits, "ones scores")
    attention = require_finite(attention[:num_frames], "attention")
    tens_probs = softmax(tens_logits.astype(np.float64)).astype(np.float32)
    ones_probs = softmax(ones_logits.astype(np.float64)).astype(np.float32)
    tens, ones = int(tens_probs.argmax()), int(ones_probs.argmax())
    return Prediction(
        number=digits_to_number(tens, ones),
        confidence=float(tens_probs[tens]) * float(ones_probs[ones]),
        tens_probs=tens_probs,
        ones_probs=ones_probs,
        attention=attention.astype(np.float32),
    )
