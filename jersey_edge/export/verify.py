"""Export's verify step: every exported graph pair against PyTorch, on ORT's CPU provider.

Two measurements per pair:
  * golden: the golden.npz sequences -> max |logit difference| and prediction agreement;
  * split (the test split by default): number accuracy, its difference from PyTorch in points,
    and how often the prediction equals PyTorch's.
Each sequence is preprocessed once; its frames go through every encoder (PyTorch once) and
the per-frame embeddings through the matching head: the head each precision is served with
(`artifacts.graphs_for`), so the INT8 TensorRT layout runs with the FP16 head as on a Jetson.
Every pair runs through `core.two_stage.run_two_stage`, the path the runtime serves with.
For FP16 and INT8 the golden frames' embeddings are also compared with PyTorch's (cosine).
The head graphs are checked for padding invariance in ORT.
"""

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np
from tqdm import tqdm

from ..core.labels import number_to_digits
from ..core.metrics import decision_margin
from ..core.parity import Parity, Targets, compare
from ..core.preprocess import PreprocessConfig
from ..core.two_stage import Logits, TwoStage, concat_logits, pad_sequences, run_two_stage
from ..data.discovery import SequenceRecord
from ..runtime.artifacts import graphs_for, load_manifest
from ..runtime.backends.onnxruntime import OnnxRuntimeSession
from ..runtime.manifest_sections import ParitySection
from ..runtime.recognizer import Recognizer
from .golden import Golden
from .probe import Fidelity
from .sequences import chunks, sequence_frames

CPU = ["CPUExecutionProvider"]
SEQUENCES_PER_CHUNK = 16
FP32_MAX_ABS = 1e-4
FP16_MIN_AGREEMENT = 0.995
# A sequence whose PyTorch number probability beats the runner-up by less than this is a tie:
# a rounding difference of 1e-3 may flip it. FP16 agreement is judged on decided sequences.
TIE_MARGIN = 0.01
FP16_MAX_DELTA_POINTS = 0.3
INT8_MAX_DELTA_POINTS = 1.0
INT8_MIN_AGREEMENT = 0.95
INT8_MIN_COSINE_MEAN = 0.99
INT8_MIN_COSINE = 0.95
# Below this many split sequences one flipped prediction moves accuracy by > 2 points: the
# accuracy and agreement targets are then not judged (golden cosines still are, for INT8).
MIN_JUDGED_SEQUENCES = 50
INT8_TARGET = (f"|Δacc|<={INT8_MAX_DELTA_POINTS}pt, agree>={INT8_MIN_AGREEMENT:.0%}, golden cos "
               f"mean>={INT8_MIN_COSINE_MEAN}, min>={INT8_MIN_COSINE}")
REFERENCE = "PyTorch"


@dataclass(frozen=True)
class Variant:
    name: str
    precision: str
    encoder: str
    head: str
    target: str


def _variant(name: str, precision: str, target: str, goal: str) -> Variant:
    serving = graphs_for(precision, target)
    return Variant(name, precision, serving.encoder, serving.head, goal)


VARIANTS = (
    _variant("fp32", "fp32", "cpu", f"golden |Δ|<={FP32_MAX_ABS:g}, agree 100%"),
    _variant("fp16", "fp16", "cpu",
             f"agree>={FP16_MIN_AGREEMENT:.1%}, |Δacc|<={FP16_MAX_DELTA_POINTS}pt on sequences "
             f"PyTorch decides by >={TIE_MARGIN}"),
    _variant("int8 cpu", "int8", "cpu", INT8_TARGET),
    _variant("int8 tensorrt", "int8", "tensorrt", INT8_TARGET),
    _variant("int8 tensorrt typed", "int8", "tensorrt-typed", INT8_TARGET),
)


@dataclass
class Verification:
    rows: List[Dict[str, Any]]
    padding_invariance: Dict[str, float]  # head file -> max |Δ| with garbage in padding

    def section(self, split: str) -> ParitySection:
        return ParitySection(split=split, provider=CPU[0], rows=self.rows,
                             head_padding_invariance=self.padding_invariance)

    def failures(self) -> List[str]:
        return [f"{r['name']}: missed target ({r['target']})" for r in self.rows
                if r["ok"] is False]

    def degraded(self) -> Dict[str, List[str]]:
        """Precision -> the graph pairs of that precision that missed their target."""
        out: Dict[str, List[str]] = {}
        for row in self.rows:
            if row["ok"] is False and row["precision"] != "fp32":
                out.setdefault(row["precision"], []).append(row["name"])
        return out


def verify_export(root: Path, golden: Golden, records: Sequence[SequenceRecord],
                  reference: TwoStage, *, preprocess: PreprocessConfig,
                  max_frames: int, split: str, progress: bool = True) -> Verification:
    manifest = load_manifest(root)
    variants = [v for v in VARIANTS if manifest.has(v.encoder) and manifest.has(v.head)]
    runners = {v.name: open_variant(manifest, v) for v in variants}
    try:
        golden_out = {name: _run_golden(runner, golden, max_frames)
                      for name, runner in runners.items()}
        real = golden.frames[golden.mask > 0.5]
        reference_embeddings = reference.encode(real)
        fidelity = {name: Fidelity.of(reference_embeddings, runner.encode(real))
                    for name, runner in runners.items()}
        split_out = run_split(records, {REFERENCE: reference, **runners},
                               preprocess=preprocess, max_frames=max_frames, split=split,
                               progress=progress)
        padding = {v.head: _padding_gap(runners[v.name], golden, max_frames)
                   for v in variants if v.precision != "int8"}
    finally:
        for runner in runners.values():
            runner.close()
    truth = _digit_targets(records)
    rows = [_reference_row(split_out[REFERENCE], truth, split)]
    rows += [_row(v, golden, golden_out[v.name], fidelity[v.name], split_out[v.name],
                  split_out[REFERENCE], truth, split) for v in variants]
    return Verification(rows=rows, padding_invariance=padding)


def open_variant(manifest: Any, variant: Variant) -> Recognizer:
    """Sessions over the manifest-verified files, as the runtime's ORT CPU backend opens them."""
    encoder = OnnxRuntimeSession(manifest.read(variant.encoder), name=variant.encoder,
                                 providers=CPU)
    head = OnnxRuntimeSession(manifest.read(variant.head), name=variant.head, providers=CPU)
    return Recognizer(manifest, encoder, head, backend="onnxruntime", precision=variant.precision)


def _run_golden(runner: TwoStage, golden: Golden, max_frames: int) -> Logits:
    real = golden.frames[golden.mask > 0.5]  # row-major: sequence by sequence, in order
    tens, ones, _ = run_two_stage(runner, real, golden.lengths.tolist(), max_frames)
    return tens, ones


def run_split(records: Sequence[SequenceRecord], runners: Dict[str, TwoStage], *,
               preprocess: PreprocessConfig, max_frames: int, split: str,
               progress: bool) -> Dict[str, Logits]:
    outputs: Dict[str, List[Logits]] = {name: [] for name in runners}
    with tqdm(total=len(records), desc=f"parity ({split})", unit="seq", disable=not progress,
              leave=False) as bar:
        for chunk in chunks(records, SEQUENCES_PER_CHUNK):
            sequences = [sequence_frames(r, preprocess, max_frames) for r in chunk]
            lengths = [len(s) for s in sequences]
            frames = np.concatenate(sequences)
            for name, runner in runners.items():
                tens, ones, _ = run_two_stage(runner, frames, lengths, max_frames)
                outputs[name].append((tens, ones))
            bar.update(len(chunk))
    return {name: concat_logits(parts) for name, parts in outputs.items()}


def _padding_gap(runner: TwoStage, golden: Golden, max_frames: int) -> float:
    """Max |Δ| of the head's outputs when padded slots hold large random values instead of 0."""
    real = golden.frames[golden.mask > 0.5]
    embeddings, mask = pad_sequences(runner.encode(real), golden.lengths.tolist(), max_frames)
    noisy = embeddings.copy()
    rng = np.random.default_rng(0)
    pad = mask < 0.5
    noisy[pad] = rng.normal(0.0, 100.0, size=noisy[pad].shape).astype(np.float32)
    clean_out = runner.classify(embeddings, mask)
    noisy_out = runner.classify(noisy, mask)
    return float(max(np.abs(a - b).max() for a, b in zip(clean_out, noisy_out)))


def _digit_targets(records: Sequence[SequenceRecord]) -> Targets:
    digits = np.array([number_to_digits(r.label) for r in records], dtype=np.int64)
    digits = digits.reshape(-1, 2)
    return digits[:, 0], digits[:, 1]


def _reference_row(out: Logits, truth: Targets, split: str) -> Dict[str, Any]:
    parity = compare(out, None, truth)
    return {"name": REFERENCE, "precision": "fp32", "encoder": None, "head": None,
            "golden_max_abs_diff": None, "golden_agreement": None, "golden_cosine_mean": None,
            "golden_cosine_min": None, "split": split, "n": parity.n,
            "number_acc": parity.number_acc, "acc_delta_points": None,
            "agreement": None, "decided_n": None, "decided_agreement": None,
            "decided_acc_delta_points": None, "target": "reference", "ok": None}


def _row(variant: Variant, golden: Golden, golden_out: Logits, fidelity: Fidelity, out: Logits,
         ref: Logits, truth: Targets, split: str) -> Dict[str, Any]:
    on_golden = compare(golden_out, (golden.tens_logits, golden.ones_logits))
    on_split = compare(out, ref, truth)
    delta = _delta(on_split, compare(ref, None, truth))
    decided = decision_margin(*ref) >= TIE_MARGIN
    on_decided = compare(_subset(out, decided), _subset(ref, decided),
                         (truth[0][decided], truth[1][decided])) if decided.any() else None
    decided_delta = _delta(on_decided, compare(_subset(ref, decided), None,
                                               (truth[0][decided], truth[1][decided]))) \
        if on_decided is not None else None
    agreement = on_split.agreement if on_split.n else None
    decided_agreement = on_decided.agreement if on_decided is not None else None
    row = {"name": variant.name, "precision": variant.precision, "encoder": variant.encoder,
           "head": variant.head, "golden_max_abs_diff": on_golden.max_abs_logit_diff,
           "golden_agreement": on_golden.agreement, "golden_cosine_mean": fidelity.cosine_mean,
           "golden_cosine_min": fidelity.cosine_min, "split": split, "n": on_split.n,
           "number_acc": on_split.number_acc, "acc_delta_points": delta,
           "agreement": agreement, "decided_n": int(decided.sum()),
           "decided_agreement": decided_agreement, "decided_acc_delta_points": decided_delta,
           "target": variant.target}
    judged = on_split.n >= MIN_JUDGED_SEQUENCES
    row["ok"] = _meets_target(variant, on_golden, delta if judged else None,
                              agreement if judged else None,
                              (decided_agreement, decided_delta) if judged else None, fidelity)
    return row


def _delta(parity: Optional[Parity], reference: Parity) -> Optional[float]:
    """Accuracy difference in points; None without sequences to compare on."""
    if parity is None or parity.number_acc is None or reference.number_acc is None:
        return None
    return 100.0 * (parity.number_acc - reference.number_acc)


def _subset(logits: Logits, keep: np.ndarray) -> Logits:
    return logits[0][keep], logits[1][keep]


def _meets_target(variant: Variant, on_golden: Parity, delta: Optional[float],
                  agreement: Optional[float],
                  decided: Optional[Tuple[Optional[float], Optional[float]]],
                  fidelity: Fidelity) -> Optional[bool]:
    if variant.precision == "fp32":
        return bool(on_golden.max_abs_logit_diff is not None
                    and on_golden.max_abs_logit_diff <= FP32_MAX_ABS
                    and on_golden.agreement == 1.0)
    faithful = (variant.precision != "int8"
                or fidelity.meets(INT8_MIN_COSINE_MEAN, INT8_MIN_COSINE))
    if delta is None or agreement is None:
        return None if faithful else False  # too few sequences to judge accuracy on
    if variant.precision == "fp16":  # judged on decided sequences: ties may flip either way
        agree, shift = decided if decided is not None else (None, None)
        return bool((agree is None or agree >= FP16_MIN_AGREEMENT)
                    and (shift is None or abs(shift) <= FP16_MAX_DELTA_POINTS))
    return bool(faithful and agreement >= INT8_MIN_AGREEMENT
                and abs(delta) <= INT8_MAX_DELTA_POINTS)
