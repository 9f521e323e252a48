"""Warm-up, time-based repetition, percentiles and the rows' round-robin: the one place
that reads the clock.

Why time-based: a fixed repetition count is either too few for a fast call (percentiles from
a dozen samples are noise) or far too long for a slow one (FP16 on a CPU). Running each
measurement for `duration_s` after a `warmup_s` warm-up (allocator, thread pools, ORT/TensorRT
lazy initialisation, caches) gives comparable statistics for every row.
"""

import time
from dataclasses import dataclass
from typing import Callable, Dict, List, Mapping, Sequence

import numpy as np

from ..core.two_stage import pad_sequences
from .inputs import SequenceSet
from .runners import Runner

MIN_REPS = 5


def no_sync() -> None:
    """CPU work and sessions that return host arrays have already finished when they return."""


@dataclass(frozen=True)
class Timing:
    """Samples of one measured quantity, in milliseconds."""

    samples_ms: np.ndarray

    def percentile(self, q: float) -> float:
        return float(np.percentile(self.samples_ms, q))

    @property
    def p50(self) -> float:
        return self.percentile(50)

    @property
    def p95(self) -> float:
        return self.percentile(95)

    @property
    def p99(self) -> float:
        return self.percentile(99)

    @property
    def reps(self) -> int:
        return int(self.samples_ms.size)

    @classmethod
    def joined(cls, parts: Sequence["Timing"]) -> "Timing":
        """All samples of several timings (e.g. the rounds of one configuration)."""
        return cls(np.concatenate([part.samples_ms for part in parts]))


class Laps:
    """Times consecutive stages of one call (e.g. encoder, then head).

    `sync` runs before every clock reading so that asynchronous GPU work is charged to the
    stage that launched it, not to the next one.
    """

    def __init__(self, sync: Callable[[], None] = no_sync) -> None:
        self._sync = sync
        self._sync()
        self._last = time.perf_counter()
        self.ms: Dict[str, float] = {}

    def lap(self, stage: str) -> None:
        self._sync()
        now = time.perf_counter()
        self.ms[stage] = (now - self._last) * 1e3
        self._last = now


def repeat(step: Callable[[], Mapping[str, float]], *, warmup_s: float, duration_s: float,
           min_reps: int = MIN_REPS) -> Dict[str, Timing]:
    """Call `step` (which returns milliseconds per stage) through a warm-up, then until
    `duration_s` has passed and at least `min_reps` calls were made.

    The warm-up runs at least once; its results are discarded.
    """
    start = time.perf_counter()
    step()
    while time.perf_counter() - start < warmup_s:
        step()
    return sample(step, duration_s=duration_s, min_reps=min_reps)


def sample(step: Callable[[], Mapping[str, float]], *, duration_s: float,
           min_reps: int = 1) -> Dict[str, Timing]:
    """Call an already warm `step` until `duration_s` has passed and `min_reps` calls ran."""
    samples: Dict[str, List[float]] = {}
    reps = 0
    start = time.perf_counter()
    while reps < min_reps or time.perf_counter() - start < duration_s:
        for stage, ms in step().items():
            samples.setdefault(stage, []).append(ms)
        reps += 1
    return {stage: Timing(np.asarray(values)) for stage, values in samples.items()}


Step = Callable[[], Mapping[str, float]]
# Compared configurations are timed in this many slices, each round running every one once.
ROUNDS = 5


def round_robin(steps: Sequence[Step], *, warmup_s: float, duration_s: float,
                rounds: int = ROUNDS, on_round: Callable[[int], None] = lambda _: None
                ) -> List[List[Dict[str, Timing]]]:
    """Warm every step up, then `rounds` rounds that each sample every step for
    duration_s / rounds (at least one call): load that drifts during the run hits every
    step alike, so a ratio taken per round compares like with like. Result: per step, its
    rounds' timings."""
    for step in steps:
        repeat(step, warmup_s=warmup_s, duration_s=0.0, min_reps=1)
    per_round: List[List[Dict[str, Timing]]] = [[] for _ in steps]
    for index in range(rounds):
        on_round(index)
        for samples, step in zip(per_round, steps):
            samples.append(sample(step, duration_s=duration_s / rounds))
    return per_round


def call_step(fn: Callable[[], object], sync: Callable[[], None] = no_sync) -> Step:
    """`fn` as a one-stage step ("call") for `repeat`, `sample` and `round_robin`."""

    def step() -> Dict[str, float]:
        laps = Laps(sync)
        fn()
        laps.lap("call")
        return laps.ms

    return step


def time_call(fn: Callable[[], object], *, warmup_s: float, duration_s: float,
              sync: Callable[[], None] = no_sync, min_reps: int = MIN_REPS) -> Timing:
    """Latency of one call, synchronised before and after."""
    return repeat(call_step(fn, sync), warmup_s=warmup_s, duration_s=duration_s,
                  min_reps=min_reps)["call"]


@dataclass(frozen=True)
class RowTiming:
    """One runner at one batch: encoder and head timed within the same repetitions, and the
    p50 of each round (the rows' rounds interleave, so a ratio per round compares rows
    measured under the same machine load)."""

    batch: int
    frames: int  # real frames per sequence
    total: Timing  # encoder + head of the whole batch
    encoder: Timing
    head: Timing
    round_total_ms: List[float]
    round_encoder_ms: List[float]


def time_rows(runners: Sequence[Runner], sequences: SequenceSet, *, batch: int, frames: int,
              warmup_s: float, duration_s: float, rounds: int = ROUNDS,
              on_round: Callable[[int], None] = lambda _: None) -> List[RowTiming]:
    """`batch` sequences of `frames` frames through every runner, round-robin.

    Each step runs the encoder on batch*frames frames, then the head on the zero-padded
    [batch, max_frames, E] embeddings with their mask, timed as two laps of one repetition
    (with the runner's sync hook in between), so encoder + head is exactly the model time.
    Every runner is warmed up, then each round gives every runner duration_s/rounds (at
    least one step): load that drifts during the run hits every row alike.
    """
    pixels, mask = sequences.batch(batch, frames)
    lengths, max_frames = [frames] * batch, mask.shape[1]

    def step_of(runner: Runner) -> Callable[[], Dict[str, float]]:
        def step() -> Dict[str, float]:
            laps = Laps(runner.sync)
            embeddings = runner.encode(pixels)
            laps.lap("encoder")
            padded, _ = pad_sequences(embeddings, lengths, max_frames)
            runner.classify(padded, mask)
            laps.lap("head")
            return laps.ms
        return step

    per_round = round_robin([step_of(runner) for runner in runners], warmup_s=warmup_s,
                            duration_s=duration_s, rounds=rounds, on_round=on_round)
    return [_row_timing(batch, frames, samples) for samples in per_round]


def _row_timing(batch: int, frames: int, rounds: List[Dict[str, Timing]]) -> RowTiming:
    encoder = Timing.joined([r["encoder"] for r in rounds])
    head = Timing.joined([r["head"] for r in rounds])
    return RowTiming(batch, frames, Timing(encoder.samples_ms + head.samples_ms), encoder, head,
                     round_total_ms=[Timing(r["encoder"].samples_ms + r["head"].samples_ms).p50
                                     for r in rounds],
                     round_encoder_ms=[r["encoder"].p50 for r in rounds])
