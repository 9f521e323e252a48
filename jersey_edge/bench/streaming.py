"""Streaming row: one `TrackStream.update` per new frame vs re-running the whole window.

This is the number a tracker integration cares about: with a cache of frame embeddings a
new detection costs one encoder frame plus the small head, instead of `window` frames.
Both sides start from decoded crops (what a tracker holds) and pay their own
preprocessing: the update one frame, the re-run the whole window, as `predict` would.
"""

import itertools
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Sequence

import numpy as np

from ..core.preprocess import load_rgb
from ..runtime import Recognizer
from .report import Ratio
from .timing import Timing, call_step, round_robin

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

