"""`run_bench`: every backend x precision x batch size, timed and checked for parity.

Order of work: open every row's runner, compute parity (the reference first, so the others
can be compared with it), time each row at each batch size, then the streaming row and the
decode path on the fastest faithful runtime config. Runners are closed however it ends.
Options are checked before any of it, each failing with one line that says what to type
instead: a typo must not cost a run or turn into a silently skipped row. The streaming row
times one `TrackStream.update` per new frame against re-running the whole window: what a
tracker integration pays per frame.
"""

import contextlib
import itertools
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from ..core.errors import InputError
from ..core.parity import Parity, compare
from ..core.preprocess import load_rgb
from ..core.two_stage import Logits
from ..runtime import Recognizer
from ..runtime.artifacts import PRECISIONS, onnx_name
from ..runtime.backends import BACKENDS
from ..runtime.manifest import Manifest, load_manifest
from .decode_path import DecodePathResult, time_decode_path
from .inputs import SequenceSet, from_golden, from_records
from .macs import count_macs
from .report import BenchReport, Ratio, Row, best_runtime, compute_ratios, engine_records, noisy
from .runners import (
    BF16,
    Reference,
    Runner,
    RuntimeRunner,
    label,
    open_reference,
    open_runners,
    test_records,
)
from .system import SgemmPeak, SgemmProbe, describe
from .timing import ROUNDS, RowTiming, Timing, call_step, round_robin, time_rows

TRACK = "bench-track"


@dataclass(frozen=True)
class StreamingResult:
    config: str  # backend and precision it ran on
    window: int
    update: Timing  # one new frame: preprocess it, encode it, re-run the head
    full_window: Timing  # `predict` on the last `window` decoded frames
    round_speedups: List[float]  # full-window p50 / update p50, per interleaved round

    @property
    def speedup(self) -> Ratio:
        """How many times cheaper an update is than re-running the window."""
        what = (f"streaming update vs full {self.window}-frame re-run ({self.config}): "
                f"{self.update.p50:.2f} ms vs {self.full_window.p50:.2f} ms")
        return Ratio.from_rounds(self.round_speedups, what)

    def to_dict(self) -> Dict[str, Any]:
        return {"config": self.config, "window": self.window,
                "update_p50_ms": self.update.p50, "update_p95_ms": self.update.p95,
                "full_window_p50_ms": self.full_window.p50,
                "full_window_p95_ms": self.full_window.p95,
                "speedup": self.speedup.value, "round_speedups": self.round_speedups}


def time_streaming(recognizer: Recognizer, paths: Sequence[Path], *, window: int,
                   warmup_s: float, duration_s: float) -> StreamingResult:
    """Updates and full re-runs alternate round by round on the same decoded frames."""
    pad = recognizer.manifest.preprocess.pad_value
    decoded = [np.asarray(load_rgb(p, pad_value=pad)) for p in paths]
    stream = recognizer.stream(window=window)
    for frame in itertools.islice(itertools.cycle(decoded), window):
        stream.update(TRACK, frame)  # fill the window: every timed update sees a full one
    frames = itertools.cycle(decoded)
    last_window = [decoded[i % len(decoded)] for i in range(window)]
    update, full = round_robin(
        [call_step(lambda: stream.update(TRACK, next(frames))),
         call_step(lambda: recognizer.predict(last_window))],
        warmup_s=warmup_s, duration_s=duration_s)
    return StreamingResult(
        config=f"{recognizer.backend} {recognizer.precision}", window=window,
        update=Timing.joined([r["call"] for r in update]),
        full_window=Timing.joined([r["call"] for r in full]),
        round_speedups=[f["call"].p50 / u["call"].p50 for u, f in zip(update, full)])


MAX_BATCH = 4096


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
        runners = open_runners(manifest, reference, sequences, stack, notes, backends=backends,
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


def parse_batches(text: str) -> List[int]:
    """"1,4,8,16" -> [1, 4, 8, 16] (sorted, duplicates dropped)."""
    parts = [part.strip() for part in str(text).split(",")]
    try:
        values = [int(part) for part in parts]
    except ValueError:
        values = []
    if not values or any(not 1 <= v <= MAX_BATCH for v in values):
        raise InputError(f"batch sizes {text!r}: give comma-separated sizes 1-{MAX_BATCH}, "
                         "e.g. 1,4,8,16")
    return sorted(set(values))


def check_names(option: str, given: Optional[Sequence[str]], known: Sequence[str]) -> None:
    """A typo must not turn into a silently skipped row."""
    unknown = [name for name in given or () if name not in known]
    if unknown:
        raise InputError(f"{option}: unknown {', '.join(map(repr, unknown))}; "
                         f"use {', '.join(known)}")


def check_options(*, batches: Sequence[int], frames: int, max_frames: int, warmup_s: float,
                  duration_s: float, threads: int, parity_limit: object,
                  backends: Optional[Sequence[str]] = None,
                  precisions: Optional[Sequence[str]] = None) -> List[int]:
    """Validated batch sizes; InputError for anything a run could not honour."""
    check_names("backends", backends, BACKENDS)
    check_names("precisions", precisions, (*PRECISIONS, BF16))
    batches = parse_batches(",".join(str(b) for b in batches)) if batches else []
    if not batches:
        raise InputError("give at least one batch size, e.g. 1,4,8,16")
    if not 1 <= frames <= max_frames:
        raise InputError(f"frames per sequence must be 1-{max_frames} for these artifacts, "
                         f"got {frames}")
    if warmup_s < 0 or duration_s <= 0:
        raise InputError("warm-up must be >= 0 s and duration > 0 s")
    if threads < 0:
        raise InputError(f"threads must be >= 0 (0 = library default), got {threads}")
    if parity_limit is not None and (not isinstance(parity_limit, int) or parity_limit < 1):
        raise InputError(f"parity limit must be a positive number, got {parity_limit!r}")
    return batches


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
    """Per batch size, every row round-robin (`timing.time_rows`), an sgemm slice at the
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
