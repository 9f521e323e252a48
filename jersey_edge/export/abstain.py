"""Export's abstain step: the confidence below which the runtime says "no legible number".

Chosen on the validation split (never the test split parity reports on), with the exported
FP32 pair on ONNX Runtime's CPU provider: the very confidences the runtime computes. The
sequences run through verification's own runner (`verify.open_serving`, `verify.run_split`).
"""

from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional, Sequence, Tuple

import numpy as np

from ..core.abstain import MIN_ACCEPTED, choose_threshold, number_correct, operating_point
from ..core.digits import MAX_NUMBER, number_confidence, number_to_digits
from ..core.preprocess import PreprocessConfig
from ..data.discovery import SequenceRecord
from ..data.splits import Splits
from ..runtime.artifacts import graphs_for
from ..runtime.manifest import load_manifest
from ..runtime.manifest_sections import AbstainSection
from .verify import open_serving, run_split

SPLIT = "val"
NO_NUMBER = (-1, -1)  # digits of a sequence without a true number: never a right answer


@dataclass(frozen=True)
class AbstainChoice:
    """The section for the manifest, or None with the warning that says why there is none."""

    section: Optional[AbstainSection]
    warning: Optional[str] = None

    def warnings(self) -> List[str]:
        return [self.warning] if self.warning else []


WARNING_PREFIX = "abstain: "  # how export's report tells this warning from a degraded pair's
DISABLED = AbstainChoice(None)  # export asked for no threshold: the runtime never abstains


def calibrate_abstain(root: Path, splits: Splits, *, target_precision: float,
                      preprocess: PreprocessConfig, max_frames: int, progress: bool = True,
                      min_accepted: int = MIN_ACCEPTED) -> AbstainChoice:
    """The threshold for `target_precision` on the validation split, its illegible sequences
    included (a dataset's unreadable tracklets: the negatives abstaining is for), from the
    confidences of the export in `root`."""
    records = list(splits.val) + list(getattr(splits, "illegible", {}).get(SPLIT, []))
    confidence, correct = split_confidences(root, records, preprocess=preprocess,
                                            max_frames=max_frames, progress=progress)
    return choose_abstain(confidence, correct, target_precision=target_precision,
                          min_accepted=min_accepted)


def split_confidences(root: Path, records: Sequence[SequenceRecord], *,
                      preprocess: PreprocessConfig, max_frames: int,
                      progress: bool = True) -> Tuple[np.ndarray, np.ndarray]:
    """[S] confidences and [S] correctness of `records` through the FP32 pair in `root`."""
    fp32 = graphs_for("fp32", "cpu")
    runner = open_serving(load_manifest(root), fp32)
    try:
        tens, ones = run_split(records, {fp32.name: runner}, preprocess=preprocess,
                                max_frames=max_frames, split=SPLIT, progress=progress)[fp32.name]
    finally:
        runner.close()
    truth = np.array([_true_digits(r) for r in records], dtype=np.int64).reshape(-1, 2)
    return (number_confidence(tens, ones),
            number_correct(tens, ones, truth[:, 0], truth[:, 1]))


def choose_abstain(confidence: np.ndarray, correct: np.ndarray, *, target_precision: float,
                   min_accepted: int = MIN_ACCEPTED) -> AbstainChoice:
    """The manifest section for these validation confidences, or a warning when the target
    precision is out of reach."""
    threshold = choose_threshold(confidence, correct, target_precision, min_accepted)
    if threshold is None:
        return AbstainChoice(None, (
            f"{WARNING_PREFIX}no confidence threshold reaches {100 * target_precision:g}% "
            f"precision on {SPLIT} ({len(confidence)} sequences) with at least {min_accepted} "
            "of them accepted; the manifest has no abstain section, so the runtime never abstains"))
    point = operating_point(confidence, correct, threshold)
    assert point.accuracy is not None  # at least min_accepted >= 1 sequences are accepted
    return AbstainChoice(AbstainSection(
        threshold=threshold, target_precision=float(target_precision), split=SPLIT,
        sequences=int(len(confidence)), coverage=point.coverage, accuracy=point.accuracy))


def describe(section: AbstainSection) -> str:
    """The one line export prints about its threshold."""
    return (f"abstain below confidence {section.threshold:.3f}: {section.split} coverage "
            f"{100 * section.coverage:.1f}%, accuracy {100 * section.accuracy:.1f}% "
            f"(n={section.sequences})")


def _true_digits(record: SequenceRecord) -> Tuple[int, int]:
    """A record's true digits; NO_NUMBER for one without a legible number (label -1)."""
    label = record.label
    if not isinstance(label, int) or not 0 <= label <= MAX_NUMBER:
        return NO_NUMBER
    return number_to_digits(label)
