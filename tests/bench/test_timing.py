"""Timing mechanics (repetition counts, stages, percentiles), never wall-clock values."""

import numpy as np

from jersey_edge.bench.timing import Laps, Timing, repeat, time_call


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
