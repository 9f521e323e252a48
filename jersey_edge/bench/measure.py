"""Latency of the rows at one batch size (round-robin), and of numpy preprocessing."""

import itertools
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, List, Sequence

import numpy as np

from ..core.preprocess import PreprocessConfig, preprocess_frame
from ..core.two_stage import pad_sequences
from .inputs import SequenceSet
from .runners import Runner
from .timing import Laps, Timing, repeat, sample, time_call

# Each row is timed in this many slices, interleaved with the other rows' slices.
ROUNDS = 5


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

    steps = [step_of(runner) for runner in runners]
    for step in steps:
        repeat(step, warmup_s=warmup_s, duration_s=0.0, min_reps=1)
    per_round: List[List[Dict[str, Timing]]] = [[] for _ in steps]
    for index in range(rounds):
        on_round(index)
        for samples, step in zip(per_round, steps):
            samples.append(sample(step, duration_s=duration_s / rounds))
    return [_row_timing(batch, frames, samples) for samples in per_round]


def _row_timing(batch: int, frames: int, rounds: List[Dict[str, Timing]]) -> RowTiming:
    encoder = Timing(np.concatenate([r["encoder"].samples_ms for r in rounds]))
    head = Timing(np.concatenate([r["head"].samples_ms for r in rounds]))
    return RowTiming(batch, frames, Timing(encoder.samples_ms + head.samples_ms), encoder, head,
                     round_total_ms=[Timing(r["encoder"].samples_ms + r["head"].samples_ms).p50
                                     for r in rounds],
                     round_encoder_ms=[r["encoder"].p50 for r in rounds])


def time_preprocess(paths: Sequence[Path], cfg: PreprocessConfig, *, warmup_s: float,
                    duration_s: float) -> Timing:
    """Per-frame latency of the runtime's numpy preprocessing (JPEG decode, keep-aspect
    resize, pad, sharpen, normalise), cycling through real frame files."""
    cycle = itertools.cycle(paths)
    return time_call(lambda: preprocess_frame(next(cycle), cfg), warmup_s=warmup_s,
                     duration_s=duration_s)
