"""Rows are timed round-robin and ratios are taken per round: order and arithmetic, never
wall-clock values."""

import dataclasses

import numpy as np

from jersey_edge.bench.measure import time_rows
from jersey_edge.bench.ratios import compute_ratios, noisy
from jersey_edge.bench.timing import ROUNDS, call_step, round_robin
from tests.bench.test_inputs import numbered_set
from tests.bench.test_report import row


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


def test_ratios_are_the_median_of_per_round_ratios_with_their_iqr():
    fast = dataclasses.replace(row("onnxruntime", "fp32", 1, 10.0),
                               round_p50_ms=[10, 10, 10, 20, 10])
    slow = dataclasses.replace(row("pytorch", "fp32", 1, 30.0),
                               round_p50_ms=[30, 30, 30, 40, 60])
    ratio = compute_ratios([fast, slow])["best_runtime_vs_pytorch_eager_b1"]
    assert ratio.value == 3.0  # rounds: 3, 3, 3, 2, 6
    assert (ratio.low, ratio.high) == (3.0, 3.0) and ratio.spread == 0.0
    assert "median of 5 rounds" in ratio.what
    assert noisy({"r": ratio}) == []


def test_a_ratio_whose_rounds_disagree_is_flagged():
    fast = dataclasses.replace(row("onnxruntime", "fp32", 1, 10.0),
                               round_p50_ms=[10, 10, 10, 10])
    slow = dataclasses.replace(row("pytorch", "fp32", 1, 30.0), round_p50_ms=[20, 30, 40, 50])
    ratio = compute_ratios([fast, slow])["best_runtime_vs_pytorch_eager_b1"]
    assert (ratio.low, ratio.value, ratio.high) == (2.75, 3.5, 4.25)
    [note] = noisy({"eager": ratio})
    assert note.startswith("eager: rounds spread 43% of the median")


def test_rows_without_rounds_keep_the_plain_ratio():
    ratio = compute_ratios([row("onnxruntime", "fp32", 1, 10.0),
                            row("pytorch", "fp32", 1, 30.0)])["best_runtime_vs_pytorch_eager_b1"]
    assert ratio.value == 3.0 and ratio.low is None and ratio.spread is None


def test_round_robin_alternates_every_step_in_every_round():
    """The streaming row and the decode path time their two sides this way."""
    log = []
    steps = [call_step(lambda: log.append("update")), call_step(lambda: log.append("full"))]
    update, full = round_robin(steps, warmup_s=0.0, duration_s=0.0, rounds=3,
                               on_round=lambda i: log.append(i))
    warm_up = ["update", "update", "full", "full"]  # one call discarded, one sample each
    assert log == warm_up + [0, "update", "full", 1, "update", "full", 2, "update", "full"]
    assert len(update) == len(full) == 3 and all(r["call"].reps == 1 for r in update)
