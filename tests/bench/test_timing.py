"""Timing mechanics (repetition counts, stages, percentiles, rows timed round-robin), never
wall-clock values."""

import numpy as np

from jersey_edge.bench.timing import (
    ROUNDS,
    Laps,
    Timing,
    call_step,
    repeat,
    round_robin,
    time_call,
    time_rows,
)
from tests.bench.test_inputs import numbered_set


def test_repeat_warms_up_then_takes_at_least_min_reps():
    calls = []

    def step():
        calls.append(1)
        return {"a": 1.0, "b": 2.0}

    result = repeat(step, warmup_s=0.0, duration_s=0.0, min_reps=7)
    assert set(result) == {"a", "b"}
    assert result["a"].reps == result["b"].reps == 7
    assert len(calls) == 8  # one warm-up call, discarded
    assert result["b"].p50 == 2.0


def test_laps_sync_before_every_reading():
    synced = []
    laps = Laps(lambda: synced.append(1))
    laps.lap("encoder")
    laps.lap("head")
    assert list(laps.ms) == ["encoder", "head"]
    assert all(ms >= 0 for ms in laps.ms.values())
    assert len(synced) == 3


def test_percentiles_are_numpys():
    samples = np.arange(1.0, 101.0)
    timing = Timing(samples)
    assert timing.p50 == np.percentile(samples, 50)
    assert timing.p95 == np.percentile(samples, 95)
    assert timing.p99 == np.percentile(samples, 99)
    assert timing.reps == 100


def test_time_call_counts_calls():
    calls = []
    timing = time_call(lambda: calls.append(1), warmup_s=0.0, duration_s=0.0, min_reps=3)
    assert timing.reps == 3 and len(calls) == 4


class Recording:
    """A runner that records which row ran and what the head was given."""

    backend, precision, device, is_reference = "onnxruntime", "fp32", "cpu", False

    def __init__(self, name, log):
        self.name, self.log = name, log

    def encode(self, frames):
        self.log.append(self.name)
        return frames.reshape(len(frames), -1)[:, :2].copy()

    def classify(self, embeddings, mask):
        self.seen = (embeddings.shape, mask.tolist())
        return np.zeros((len(mask), 11)), np.zeros((len(mask), 10)), mask

    def sync(self):
        pass


def test_rows_alternate_within_every_round():
    log = []
    runners = [Recording("a", log), Recording("b", log)]
    timings = time_rows(runners, numbered_set([4, 2]), batch=3, frames=2, warmup_s=0.0,
                        duration_s=0.0)
    # warm-up (two calls each: one discarded, one sample), then one step per row per round
    assert log[:4] == ["a", "a", "b", "b"]
    assert log[4:] == ["a", "b"] * ROUNDS
    for timing in timings:
        assert len(timing.round_total_ms) == len(timing.round_encoder_ms) == ROUNDS
        assert timing.total.reps == ROUNDS
    assert runners[0].seen == ((3, 4, 2), [[1, 1, 0, 0]] * 3)  # padded to max_frames


def test_round_robin_alternates_every_step_in_every_round():
    """The streaming row and the decode path time their two sides this way."""
    log = []
    steps = [call_step(lambda: log.append("update")), call_step(lambda: log.append("full"))]
    update, full = round_robin(steps, warmup_s=0.0, duration_s=0.0, rounds=3,
                               on_round=lambda i: log.append(i))
    warm_up = ["update", "update", "full", "full"]  # one call discarded, one sample each
    assert log == warm_up + [0, "update", "full", 1, "update", "full", 2, "update", "full"]
    assert len(update) == len(full) == 3 and all(r["call"].reps == 1 for r in update)
