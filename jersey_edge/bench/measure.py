"""Latency of one row at one batch size, and of numpy preprocessing, on real frames."""

import itertools
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Sequence

from ..core.preprocess import PreprocessConfig, preprocess_frame
from ..core.two_stage import pad_sequences
from .inputs import SequenceSet
from .runners import Runner
from .timing import Laps, Timing, repeat, time_call


@dataclass(frozen=True)
class RowTiming:
    """One runner at one batch: encoder and head timed within the same repetitions."""

    batch: int
    frames: int  # real frames per sequence
    total: Timing  # encoder + head of the whole batch
    encoder: Timing
    head: Timing


def time_runner(runner: Runner, sequences: SequenceSet, *, batch: int, frames: int,
                warmup_s: float, duration_s: float) -> RowTiming:
    """`batch` sequences of `frames` frames: encoder on batch*frames frames, then the head
    on the zero-padded [batch, max_frames, E] embeddings with their mask.

    Both stages are timed in the same repetition (with the runner's sync hook in between)
    rather than in separate loops, so encoder + head is exactly the end-to-end model time.
    """
    pixels, mask = sequences.batch(batch, frames)
    lengths, max_frames = [frames] * batch, mask.shape[1]

    def step() -> Dict[str, float]:
        laps = Laps(runner.sync)
        embeddings = runner.encode(pixels)
        laps.lap("encoder")
        padded, _ = pad_sequences(embeddings, lengths, max_frames)
        runner.classify(padded, mask)
        laps.lap("head")
        return laps.ms

    stages = repeat(step, warmup_s=warmup_s, duration_s=duration_s)
    total = Timing(stages["encoder"].samples_ms + stages["head"].samples_ms)
    return RowTiming(batch, frames, total, stages["encoder"], stages["head"])


def time_preprocess(paths: Sequence[Path], cfg: PreprocessConfig, *, warmup_s: float,
                    duration_s: float) -> Timing:
    """Per-frame latency of the runtime's numpy preprocessing (JPEG decode, keep-aspect
    resize, pad, sharpen, normalise), cycling through real frame files."""
    cycle = itertools.cycle(paths)
    return time_call(lambda: preprocess_frame(next(cycle), cfg), warmup_s=warmup_s,
                     duration_s=duration_s)
