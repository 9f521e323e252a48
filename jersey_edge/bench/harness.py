"""`run_bench`: every backend x precision x batch size, timed and checked for parity.

Order of work: open every row's runner, compute parity (the reference first, so the others
can be compared with it), time each row at each batch size, then the streaming row and the
decode path on the fastest faithful runtime config. Runners are closed however it ends.
"""

import contextlib
import tempfile
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from ..core.errors import BackendUnavailableError
from ..core.parity import Parity, compare
from ..core.two_stage import Logits
from ..runtime.artifacts import Manifest, load_manifest, onnx_name
from .decode_path import DecodePathResult, time_decode_path
from .inputs import SequenceSet, from_golden, from_records
from .macs import count_macs
from .measure import RowTiming, time_rows
from .options import check_options
from .ratios import best_runtime, compute_ratios, noisy
from .report import BenchReport, Row, engine_records
from .runners import Runner, RuntimeRunner, label, open_runtime_runners
from .sgemm import SgemmPeak, SgemmProbe
from .sources import Reference, open_reference, test_records
from .streaming import StreamingResult, time_streaming
from .system import describe
from .timing import ROUNDS


def run_bench(artifacts: Path, *, batches: Sequence[int] = (1, 4, 8, 16),
              backends: Optional[Sequence[str]] = None,
              precisions: Optional[Sequence[str]] = None, frames: Optional[int] = None,
              warmup_s: float = 1.0, duration_s: float = 3.0, threads: int = 0,
              checkpoint: Optional[Path] = None, data_root: Optional[Path] = None,
              parity_limit: Optional[int] = None, torch_reference: bool = True,
              progress: bool = True) -> BenchReport:
    """Benchmark an artifacts folder; see the module docstring for what is measured.

    batches: sequences per call, each of `frames` real frames (None: the model's max_frames,
    16 for the shipped models). backends/precisions: None =
    every backend and every exported precision (rows this machine cannot run become notes).
    threads: intra-op threads for ONNX Runtime and torch (0 = library default).
    checkpoint/data_root: the PyTorch reference and its dataset (default: as recorded in
    manifest.json and the checkpoint). parity_limit: at most this many sequences for parity.
    """
    manifest = load_manifest(artifacts)
    frames = manifest.max_frames if frames is None else frames
    batches = check_options(batches=batches, frames=frames, max_frames=manifest.max_frames,
                            warmup_s=warmup_s, duration_s=duration_s, threads=threads,
                            parity_limit=parity_limit, backends=backends,
                            precisions=precisions)
    notes: List[str] = []
    reference = open_reference(manifest, checkpoint, notes) if torch_reference else None
    with contextlib.ExitStack() as stack:
        steps = stack.enter_context(_Steps(progress))
        scratch = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="jersey-bench-")))
        sequences = _sequences(manifest, reference, data_root, scratch, parity_limit, notes)
        runners = _open_runners(manifest, reference, sequences, stack, notes, backends=backends,
                                precisions=precisions, threads=threads)
        steps.total(len(runners) + len(batches) * ROUNDS + 2)
        parities = _parities(runners, sequences, steps)
        probe = SgemmProbe(threads)
        stack.callback(probe.close)
        timings, sgemm = _timings(runners, sequences, batches, frames, warmup_s, duration_s,
                                  steps, probe)
        macs = _macs_per_frame(manifest, notes)
        rows = _rows(runners, timings, parities, macs)
        steps.advance("streaming")
        streaming = _streaming(runners, rows, sequences, frames, warmup_s, duration_s)
        steps.advance("decode path")
        decode = _decode_path(runners, rows, sequences, frames, warmup_s, duration_s)
    ratios = compute_ratios(rows, sgemm=sgemm, streaming=streaming, decode_path=decode)
    notes += noisy(ratios)
    return BenchReport(
        system=describe(threads, sgemm.peak if sgemm else None),
        engines=engine_records(manifest),
        rows=rows,
        streaming=streaming.to_dict() if streaming else None,
        decode_path=decode.to_dict() if decode else None,
        ratios=ratios,
        inputs={"sequences": sequences.source,
                "parity reference": _reference_name(sequences, reference),
                "decode path frames": _raw_source(sequences),
                "encoder MACs per frame": macs},
        settings={"batches": batches, "frames": frames, "warmup_s": warmup_s,
                  "duration_s": duration_s, "threads": threads,
                  "parity_limit": parity_limit, "rounds": ROUNDS},
        notes=notes,
    )


def _open_runners(manifest: Manifest, reference: Optional[Reference], sequences: SequenceSet,
                  stack: contextlib.ExitStack, notes: List[str], *,
                  backends: Optional[Sequence[str]], precisions: Optional[Sequence[str]],
                  threads: int) -> List[Runner]:
    """PyTorch rows first (eager FP32 is the reference), then the runtime rows; each is
    closed by `stack`, however the run ends."""
    opened = open_runtime_runners(manifest.root, backends=backends, precisions=precisions,
                                  available=manifest.available_precisions(), threads=threads)
    for runner in opened.runners:
        stack.callback(runner.close)
    notes += opened.notes
    torch_rows: List[Runner] = []
    if reference is not None:
        from .torch_runners import open_torch_runners

        count = min(2, len(sequences))
        example = (np.concatenate([sequences.real_frames(i) for i in range(count)]),
                   sequences.mask[:count])
        torch_rows = open_torch_runners(reference.loaded.model, example=example,
                                        threads=threads)
        for runner in torch_rows:
            stack.callback(runner.close)
    if not torch_rows and not opened.runners:
        raise BackendUnavailableError("no backend here can run these artifacts: "
                                      + "; ".join(notes))
    return torch_rows + opened.runners


def _sequences(manifest: Manifest, reference: Optional[Reference], data_root: Optional[Path],
               scratch: Path, limit: Optional[int], notes: List[str]) -> SequenceSet:
    """The checkpoint's test split when the reference can read it, else golden.npz."""
    records = test_records(reference, data_root, notes) if reference is not None else None
    if records:
        return from_records(records, manifest, source="test split", limit=limit)
    if records is not None:
        notes.append("the test split is empty: parity on golden.npz")
    return from_golden(manifest, scratch, limit)


def _parities(runners: Sequence[Runner], sequences: SequenceSet, steps: "_Steps"
              ) -> Dict[str, Parity]:
    """Reference first: its logits are what the others are compared with, unless the set
    carries stored PyTorch logits (golden.npz), which then serve for every row."""
    ordered = sorted(runners, key=lambda r: not r.is_reference)
    reference: Optional[Logits] = sequences.reference
    results = {}
    for runner in ordered:
        steps.advance(f"parity {label(runner)}")
        logits = sequences.logits(runner)
        if reference is None and runner.is_reference:
            reference = logits
        results[label(runner)] = compare(logits, reference, sequences.targets)
    return results


def _timings(runners: Sequence[Runner], sequences: SequenceSet, batches: Sequence[int],
             frames: int, warmup_s: float, duration_s: float, steps: "_Steps",
             probe: SgemmProbe) -> Tuple[Dict[str, List[RowTiming]], Optional[SgemmPeak]]:
    """Per batch size, every row round-robin (`measure.time_rows`), an sgemm slice at the
    start of every round; the peak is None when the probe failed."""
    timings: Dict[str, List[RowTiming]] = {label(r): [] for r in runners}
    sgemm: Optional[SgemmPeak] = SgemmPeak()
    for batch in batches:
        def on_round(index: int, batch: int = batch) -> None:
            nonlocal sgemm
            steps.advance(f"batch {batch} round {index + 1}/{ROUNDS}")
            gflops = probe.slice()
            if gflops is None:
                sgemm = None
            elif sgemm is not None:
                sgemm.slices.setdefault(batch, []).append(gflops)

        measured = time_rows(runners, sequences, batch=batch, frames=frames,
                             warmup_s=warmup_s, duration_s=duration_s, on_round=on_round)
        for runner, timing in zip(runners, measured):
            timings[label(runner)].append(timing)
    return timings, sgemm


def _macs_per_frame(manifest: Manifest, notes: List[str]) -> Optional[int]:
    """Encoder MACs per frame from the FP32 graph; None (with a note) without `onnx`."""
    try:
        return count_macs(manifest.read(onnx_name("encoder", "fp32")), batch=1)
    except ImportError:
        notes.append("onnx not installed: encoder GFLOP/s not computed")
    except ValueError as exc:
        notes.append(f"encoder MACs not counted ({exc})")
    return None


def _rows(runners: Sequence[Runner], timings: Dict[str, List[RowTiming]],
          parities: Dict[str, Parity], macs: Optional[int]) -> List[Row]:
    rows = []
    for runner in runners:
        parity = parities[label(runner)]
        for timing in timings[label(runner)]:
            n_frames = timing.batch * timing.frames
            encoder_ms = timing.encoder.p50
            rows.append(Row(
                backend=runner.backend, precision=runner.precision, device=runner.device,
                batch=timing.batch, frames=timing.frames, reps=timing.total.reps,
                p50_ms=timing.total.p50, p95_ms=timing.total.p95, p99_ms=timing.total.p99,
                seq_per_s=timing.batch * 1e3 / timing.total.p50,
                frames_per_s=n_frames * 1e3 / timing.total.p50,
                encoder_ms=encoder_ms, head_ms=timing.head.p50,
                encoder_gflops=2.0 * macs * n_frames / (encoder_ms * 1e6) if macs else None,
                number_acc=parity.number_acc, agreement=parity.agreement,
                max_abs_logit_diff=parity.max_abs_logit_diff, parity_n=parity.n,
                round_p50_ms=timing.round_total_ms, round_encoder_ms=timing.round_encoder_ms,
            ))
    return rows


def _best_runtime_runner(runners: Sequence[Runner], rows: List[Row],
                         batch: int) -> Optional[RuntimeRunner]:
    """The runtime config a deployment would pick at `batch`: the fastest faithful one."""
    best = best_runtime(row for row in rows if row.batch == batch)
    return next((r for r in runners if isinstance(r, RuntimeRunner)
                 and best is not None and label(r) == best.config), None)


def _streaming(runners: Sequence[Runner], rows: List[Row], sequences: SequenceSet,
               window: int, warmup_s: float, duration_s: float) -> Optional[StreamingResult]:
    """At the smallest batch: a tracker updates one track at a time."""
    chosen = _best_runtime_runner(runners, rows, min(row.batch for row in rows))
    if chosen is None:
        return None
    return time_streaming(chosen.recognizer, sequences.raw_frames, window=window,
                          warmup_s=warmup_s, duration_s=duration_s)


def _decode_path(runners: Sequence[Runner], rows: List[Row], sequences: SequenceSet,
                 frames: int, warmup_s: float, duration_s: float
                 ) -> Optional[DecodePathResult]:
    """At the largest batch: throughput is where decoding can starve the model."""
    batch = max(row.batch for row in rows)
    chosen = _best_runtime_runner(runners, rows, batch)
    if chosen is None:
        return None
    return time_decode_path(chosen.recognizer, sequences.raw_frames, batch=batch,
                            frames=frames, warmup_s=warmup_s, duration_s=duration_s)


def _reference_name(sequences: SequenceSet, reference: Optional[Reference]) -> str:
    if sequences.reference is not None:
        return "PyTorch FP32 logits stored in golden.npz"
    return f"PyTorch eager FP32 of {reference.checkpoint}" if reference else "none"


def _raw_source(sequences: SequenceSet) -> str:
    if sequences.reference is not None:
        return "golden frames re-encoded as JPEG at network size (real crops cost more)"
    return "test-split JPEGs"


class _Steps:
    """A rich progress bar on stderr (or nothing when progress=False)."""

    def __init__(self, enabled: bool) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

        self._progress = Progress(TextColumn("{task.description:<32}"), BarColumn(),
                                  MofNCompleteColumn(), console=Console(stderr=True),
                                  transient=True, disable=not enabled)
        self._task = self._progress.add_task("bench", total=None)

    def total(self, steps: int) -> None:
        self._progress.update(self._task, total=steps)

    def advance(self, description: str) -> None:
        """The previous step is done; `description` is what runs now."""
        self._progress.update(self._task, description=description, advance=1)

    def __enter__(self) -> "_Steps":
        self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.stop()
