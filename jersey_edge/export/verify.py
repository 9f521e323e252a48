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
The head graphs are checked for padding invariance in ORT. `render_parity` is the table
the CLI prints.
"""

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import numpy as np
from rich.table import Table
from tqdm import tqdm

from ..core.digits import decision_margin, number_to_digits
from ..core.parity import TIE_MARGIN, TOLERANCES, Parity, ParityRow, Truth, compare
from ..core.preprocess import PreprocessConfig, preprocess_sequence
from ..core.two_stage import Logits, TwoStage, concat_logits, pad_sequences, run_two_stage
from ..data.discovery import SequenceRecord
from ..runtime.artifacts import Serving, graphs_for
from ..runtime.backends.onnxruntime import OnnxRuntimeSession
from ..runtime.manifest import Manifest, load_manifest
from ..runtime.manifest_sections import ParitySection
from ..runtime.recognizer import Recognizer
from .golden import Golden
from .probe import Fidelity

CPU = ["CPUExecutionProvider"]
SEQUENCES_PER_CHUNK = 16
REFERENCE = "PyTorch"
# The graph pairs export verifies: every precision on ORT's CPU provider, and the INT8
# encoders TensorRT builds from (run here on the CPU provider too).
VERIFIED = (graphs_for("fp32", "cpu"), graphs_for("fp16", "cpu"), graphs_for("int8", "cpu"),
            graphs_for("int8", "tensorrt"), graphs_for("int8", "tensorrt-typed"))


@dataclass
class Verification:
    rows: List[ParityRow]
    padding_invariance: Dict[str, float]  # head file -> max |Δ| with garbage in padding

    def section(self, split: str) -> ParitySection:
        return ParitySection(split=split, provider=CPU[0], rows=self.rows,
                             head_padding_invariance=self.padding_invariance)

    def failures(self) -> List[str]:
        return [f"{r.name}: missed target ({r.target})" for r in self.rows if r.ok is False]

    def degraded(self) -> Dict[str, List[str]]:
        """Precision -> the graph pairs of that precision that missed their target."""
        out: Dict[str, List[str]] = {}
        for row in self.rows:
            if row.ok is False and row.precision != "fp32":
                out.setdefault(row.precision, []).append(row.name)
        return out


def verify_export(root: Path, golden: Golden, records: Sequence[SequenceRecord],
                  reference: TwoStage, *, preprocess: PreprocessConfig,
                  max_frames: int, split: str, progress: bool = True) -> Verification:
    manifest = load_manifest(root)
    servings = [s for s in VERIFIED if manifest.has(s.encoder) and manifest.has(s.head)]
    runners = {s.name: open_serving(manifest, s) for s in servings}
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
        padding = {s.head: _padding_gap(runners[s.name], golden, max_frames)
                   for s in servings if s.precision != "int8"}
    finally:
        for runner in runners.values():
            runner.close()
    truth = _digit_targets(records)
    rows = [_reference_row(split_out[REFERENCE], truth, split)]
    rows += [_row(s, golden, golden_out[s.name], fidelity[s.name], split_out[s.name],
                  split_out[REFERENCE], truth, split) for s in servings]
    return Verification(rows=rows, padding_invariance=padding)


def open_serving(manifest: Manifest, serving: Serving) -> Recognizer:
    """Sessions over the manifest-verified files, as the runtime's ORT CPU backend opens them."""
    encoder = OnnxRuntimeSession(manifest.read(serving.encoder), name=serving.encoder,
                                 providers=CPU)
    head = OnnxRuntimeSession(manifest.read(serving.head), name=serving.head, providers=CPU)
    return Recognizer(manifest, encoder, head, backend="onnxruntime", precision=serving.precision)


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
        for start in range(0, len(records), SEQUENCES_PER_CHUNK):
            chunk = records[start:start + SEQUENCES_PER_CHUNK]
            sequences = [preprocess_sequence(r.frames, preprocess, max_frames) for r in chunk]
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


def _digit_targets(records: Sequence[SequenceRecord]) -> Truth:
    digits = np.array([number_to_digits(r.label) for r in records], dtype=np.int64)
    digits = digits.reshape(-1, 2)
    return digits[:, 0], digits[:, 1]


def _reference_row(out: Logits, truth: Truth, split: str) -> ParityRow:
    parity = compare(out, None, truth)
    return ParityRow(name=REFERENCE, precision="fp32", encoder=None, head=None,
                     golden_max_abs_diff=None, golden_agreement=None, golden_cosine_mean=None,
                     golden_cosine_min=None, split=split, n=parity.n,
                     number_acc=parity.number_acc, acc_delta_points=None, agreement=None,
                     decided_n=None, decided_agreement=None, decided_acc_delta_points=None,
                     target="reference", ok=None)


def _row(serving: Serving, golden: Golden, golden_out: Logits, fidelity: Fidelity, out: Logits,
         ref: Logits, truth: Truth, split: str) -> ParityRow:
    on_golden = compare(golden_out, (golden.tens_logits, golden.ones_logits))
    on_split = compare(out, ref, truth)
    decided = decision_margin(*ref) >= TIE_MARGIN
    on_decided = decided_delta = None
    if decided.any():
        decided_truth = (truth[0][decided], truth[1][decided])
        on_decided = compare(_subset(out, decided), _subset(ref, decided), decided_truth)
        decided_delta = _delta(on_decided, compare(_subset(ref, decided), None, decided_truth))
    tolerance = TOLERANCES[serving.precision]
    row = ParityRow(
        name=serving.name, precision=serving.precision, encoder=serving.encoder,
        head=serving.head, golden_max_abs_diff=on_golden.max_abs_logit_diff,
        golden_agreement=on_golden.agreement, golden_cosine_mean=fidelity.cosine_mean,
        golden_cosine_min=fidelity.cosine_min, split=split, n=on_split.n,
        number_acc=on_split.number_acc,
        acc_delta_points=_delta(on_split, compare(ref, None, truth)),
        agreement=on_split.agreement if on_split.n else None, decided_n=int(decided.sum()),
        decided_agreement=on_decided.agreement if on_decided is not None else None,
        decided_acc_delta_points=decided_delta, target=str(tolerance), ok=None)
    return dataclasses.replace(row, ok=tolerance.met(row))


def _delta(parity: Optional[Parity], reference: Parity) -> Optional[float]:
    """Accuracy difference in points; None without sequences to compare on."""
    if parity is None or parity.number_acc is None or reference.number_acc is None:
        return None
    return 100.0 * (parity.number_acc - reference.number_acc)


def _subset(logits: Logits, keep: np.ndarray) -> Logits:
    return logits[0][keep], logits[1][keep]


def _pct(value: Optional[float]) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def _num(value: Optional[float], fmt: str) -> str:
    return "-" if value is None else format(value, fmt)


def _ok(value: Optional[bool]) -> str:
    return {True: "[green]yes[/]", False: "[red]NO[/]", None: "-"}[value]


def render_parity(rows: List[ParityRow],
                  title: str = "Parity vs PyTorch FP32 (ONNX Runtime, CPU)") -> Table:
    """Parity rows -> a rich Table; the caption names the files and the tolerances."""
    split = next((r.split for r in rows), "test")
    n = next((r.n for r in rows), 0)
    table = Table(title=title, caption=_caption(rows))
    for column in ("graphs", "golden max|Δ|", "golden agree", "golden cos mean/min",
                   f"{split} acc", "Δacc pt", "agree", "ok"):
        table.add_column(column, justify="left" if column == "graphs" else "right")
    for row in rows:
        table.add_row(
            row.name, _num(row.golden_max_abs_diff, ".1e"), _pct(row.golden_agreement),
            _cosines(row), _pct(row.number_acc), _num(row.acc_delta_points, "+.2f"),
            _pct(row.agreement), _ok(row.ok),
        )
    targets = {r.precision: r.target for r in rows if r.encoder}
    table.caption = (f"{table.caption}; {split} split: {n} sequences; targets: "
                     + "; ".join(f"{p}: {t}" for p, t in targets.items()))
    return table


def _cosines(row: ParityRow) -> str:
    if row.golden_cosine_mean is None or row.golden_cosine_min is None:
        return "-"
    return f"{row.golden_cosine_mean:.4f}/{row.golden_cosine_min:.3f}"


def _caption(rows: List[ParityRow]) -> str:
    return "; ".join(f"{r.name} = {r.encoder} + {r.head}" for r in rows if r.encoder)
