"""What the recognizer returns, and how logits become one."""

from dataclasses import dataclass
from typing import Any, Dict, Optional

import numpy as np

from ..core.digits import BLANK, confidence, digits_to_number, probabilities
from ..core.errors import ArtifactError


@dataclass(frozen=True)
class Prediction:
    """The model's reading of one sequence.

    `number` is None ("no legible number") when `confidence` is below the recognizer's
    abstain threshold; `best_guess` is the most likely number all the same, always set.
    """

    number: Optional[int]
    best_guess: int
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

    @property
    def abstained(self) -> bool:
        return self.number is None

    def to_dict(self) -> Dict[str, Any]:
        return {
            "number": self.number,
            "best_guess": self.best_guess,
            "abstained": self.abstained,
            "confidence": round(self.confidence, 6),
            "tens": None if self.tens == BLANK else self.tens,
            "ones": self.ones,
            "tens_probs": [round(float(p), 6) for p in self.tens_probs],
            "ones_probs": [round(float(p), 6) for p in self.ones_probs],
            "attention": [round(float(a), 6) for a in self.attention],
        }


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
                  num_frames: int, abstain_below: float = 0.0) -> Prediction:
    """One row of head outputs -> Prediction (attention cut to the frames that were real);
    its number is None when the confidence is below `abstain_below` (0.0: never)."""
    require_finite(tens_logits, "tens scores")
    require_finite(ones_logits, "ones scores")
    attention = require_finite(attention[:num_frames], "attention")
    tens_probs, ones_probs = probabilities(tens_logits), probabilities(ones_logits)
    best_guess = digits_to_number(int(tens_probs.argmax()), int(ones_probs.argmax()))
    sure = float(confidence(tens_probs, ones_probs))
    return Prediction(
        number=None if sure < abstain_below else best_guess,
        best_guess=best_guess,
        confidence=sure,
        tens_probs=tens_probs,
        ones_probs=ones_probs,
        attention=attention.astype(np.float32),
    )
