"""`jersey-edge evaluate`: accuracy of a checkpoint on a split, its held-out combinations
and per label, tens/ones confusion matrices, and coverage vs accuracy when predictions below
a confidence threshold abstain ("no legible number")."""

import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import numpy as np
import torch

from ..core.abstain import (
    DEFAULT_TARGET_PRECISION,
    MIN_ACCEPTED,
    choose_threshold,
    coverage_curve,
    number_correct,
    operating_point,
)
from ..core.digits import decode_numbers, digits_to_number, number_confidence
from ..core.errors import InputError
from ..core.fileio import atomic_write_text
from ..data.discovery import SequenceRecord, discover
from ..data.splits import SPLIT_NAMES, load_splits, resolve_data_root
from ..model.net import load_checkpoint
from ..runtime.manifest import load_manifest
from .data import eval_loader
from .inference import LabelledLogits, collect_logits
from .plots import plot_confusions, plot_coverage

HELDOUT = "heldout"
ALL = "all"  # every sequence of the folder, whatever the split (held-out ones reported apart)
CURVE_THRESHOLDS = (0.0, 0.3, 0.5, 0.7, 0.8, 0.9, 0.95)  # the curve's points in the JSON


@dataclass
class Evaluation:
    split: str
    max_frames: int
    number_acc: float
    number_ci95: Tuple[float, float]  # Wilson interval: differences inside it are noise
    tens_acc: float
    ones_acc: float
    n: int
    per_label: Dict[int, float]
    heldout: Optional[Dict[str, Any]] = None
    plots: Dict[str, str] = field(default_factory=dict)
    # Coverage vs accuracy of answering only above a confidence threshold; the split's
    # illegible sequences (no true number) are in it, wrong whenever answered.
    coverage_curve: List[Dict[str, Optional[float]]] = field(default_factory=list)
    abstain: Optional[Dict[str, Any]] = None  # accuracy at the abstain threshold

    def to_dict(self) -> Dict[str, Any]:
        return {**self.__dict__, "number_ci95": list(self.number_ci95),
                "per_label": {str(k): v for k, v in self.per_label.items()}}


def evaluate(checkpoint: Path, *, data_root: Optional[Path] = None, split: str = "test",
             max_frames: Optional[int] = None, batch_size: int = 32, workers: int = 1,
             out_dir: Optional[Path] = None, json_out: Optional[Path] = None,
             abstain_threshold: Optional[float] = None, progress: bool = True) -> Evaluation:
    """max_frames=1 is the single-frame baseline: each sequence's anchor (else first frame).
    split "all": every sequence of `data_root` (its held-out combinations still apart).

    abstain_threshold: the confidence below which predictions abstain (export's, from its
    manifest); None chooses one on this split for the default target precision.
    """
    if split not in SPLIT_NAMES + (ALL,):
        raise InputError(f"split must be one of {', '.join(SPLIT_NAMES + (ALL,))}, "
                         f"got {split!r}")
    if abstain_threshold is not None and not 0.0 <= abstain_threshold <= 1.0:
        raise InputError(f"abstain threshold must be a confidence in [0, 1], "
                         f"got {abstain_threshold}")
    loaded = load_checkpoint(checkpoint)
    frames = max_frames or loaded.max_frames
    if not 1 <= frames <= loaded.max_frames:
        raise InputError(f"max frames must be 1-{loaded.max_frames}, got {frames}")
    record = loaded.record
    data_root = resolve_data_root(data_root, record.data_root)
    records, illegible = _records(data_root, Path(checkpoint).parent, split, record.seed)
    model = loaded.model.to(memory_format=torch.channels_last)  # ~2x faster on CPU

    def run(recs: list, desc: str) -> LabelledLogits:
        loader = eval_loader(recs, preprocess=loaded.preprocess, max_frames=frames,
                             batch_size=batch_size, workers=workers)
        return collect_logits(model, loader, device=torch.device("cpu"),
                              desc=desc if progress else None)

    logits = run(records, f"evaluate {split}")
    acc = logits.accuracy()
    result = Evaluation(split=split, max_frames=frames, number_acc=acc.number_acc,
                        number_ci95=acc.number_ci95(), tens_acc=acc.tens_acc,
                        ones_acc=acc.ones_acc, n=acc.n,
                        per_label=_per_label(logits))
    confidence = number_confidence(logits.tens, logits.ones)
    correct = number_correct(logits.tens, logits.ones, logits.tens_true, logits.ones_true)
    if illegible:  # no class fits them, so the loader runs them under label 0, never used
        unread = run([replace(r, label=0) for r in illegible], f"evaluate {split} illegible")
        confidence = np.concatenate([confidence, number_confidence(unread.tens, unread.ones)])
        correct = np.concatenate([correct, np.zeros(len(illegible), dtype=bool)])
    result.coverage_curve = [operating_point(confidence, correct, t).to_dict()
                             for t in CURVE_THRESHOLDS]
    result.abstain = _abstain(confidence, correct, abstain_threshold, split)
    result.abstain["illegible"] = len(illegible)
    heldout_root = Path(data_root) / HELDOUT
    if heldout_root.is_dir():
        held = run(discover(heldout_root).records, "evaluate heldout").accuracy()
        result.heldout = held.to_dict()
    if out_dir is not None:
        prefix = f"{split}_t{frames}"
        result.plots = plot_confusions(logits, Path(out_dir), prefix=prefix)
        result.plots["coverage"] = plot_coverage(coverage_curve(confidence, correct),
                                                 Path(out_dir), prefix=prefix,
                                                 threshold=result.abstain["threshold"])
    if json_out is not None:
        atomic_write_text(json_out, json.dumps(result.to_dict(), indent=2, allow_nan=False) + "\n")
    return result


def _records(data_root: Path, run_dir: Path, split: str,
             seed: int) -> Tuple[List[SequenceRecord], List[SequenceRecord]]:
    """(legible, illegible) records of `split`: of the run's splits.json, or with ALL every
    sequence of the folder (no split needed: a pretrained model on a user's own crops)."""
    if split == ALL:
        found = discover(data_root).records
        return [r for r in found if r.legible], [r for r in found if not r.legible]
    splits = load_splits(discover(data_root).records, run_dir, seed=seed)
    return list(getattr(splits, split)), list(splits.illegible.get(split, []))


def _abstain(confidence: np.ndarray, correct: np.ndarray, threshold: Optional[float],
             split: str) -> Dict[str, Any]:
    """Coverage and accuracy at `threshold`; without one, at the threshold chosen on this
    very split (optimistic: chosen and measured on the same sequences; export chooses on
    val). Threshold None: no threshold reaches the target with enough sequences."""
    source, target = "given", None
    if threshold is None:
        source, target = f"chosen on {split}", DEFAULT_TARGET_PRECISION
        threshold = choose_threshold(confidence, correct, target, MIN_ACCEPTED)
    point = operating_point(confidence, correct, threshold) if threshold is not None else None
    return {"threshold": threshold, "source": source, "target_precision": target,
            "accepted": point.accepted if point else 0,
            "coverage": point.coverage if point else None,
            "accuracy": point.accuracy if point else None}


def stored_abstain_threshold(artifacts: Path) -> float:
    """The abstain threshold export stored in the manifest of `artifacts`."""
    section = load_manifest(artifacts).abstain
    if section is None:
        raise InputError(f"{artifacts}: the manifest has no abstain threshold (export chose "
                         "none, see its warning); leave out --artifacts to choose one here")
    return float(section.threshold)


def abstain_summary(result: Evaluation) -> str:
    """One line on abstaining, worded as export's."""
    abstain = result.abstain or {}
    if abstain.get("threshold") is None:  # only a threshold chosen here can be missing
        return (f"abstain: no confidence threshold reaches {abstain.get('target_precision', 0):.0%}"
                f" precision on {result.split} with {MIN_ACCEPTED}+ answered (n={result.n})")
    accuracy = abstain["accuracy"]
    return (f"abstain below confidence {abstain['threshold']:.3f} ({abstain['source']}): "
            f"{result.split} coverage {100 * abstain['coverage']:.1f}%, accuracy "
            + ("-" if accuracy is None else f"{100 * accuracy:.1f}%") + f" (n={result.n})")


def _per_label(logits: LabelledLogits) -> Dict[int, float]:
    truth = np.array([digits_to_number(int(t), int(o))
                      for t, o in zip(logits.tens_true, logits.ones_true)])
    predicted = decode_numbers(logits.tens, logits.ones)
    return {int(label): float((predicted[truth == label] == label).mean())
            for label in np.unique(truth)}
