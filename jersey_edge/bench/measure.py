"""Latency of the rows at one batch size, round-robin."""

from dataclasses import dataclass
from typing import Callable, Dict, List, Sequence

from ..core.two_stage import pad_sequences
from .inputs import SequenceSet
from .runners import Runner
from .timing import ROUNDS, Laps, Timing, round_robin


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
