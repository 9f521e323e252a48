"""Streaming row: one `TrackStream.update` per new frame vs re-running the whole window.

This is the number a tracker integration cares about: with a cache of frame embeddings a
new detection costs one encoder frame plus the small head, instead of `window` frames.
"""

import itertools
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Sequence

import numpy as np

from ..core.preprocess import load_rgb, preprocess_frames
from ..runtime import Recognizer
from .timing import Timing, time_call

TRACK = "bench-track"


@dataclass(frozen=True)
class StreamingResult:
    config: str  # backend and precision it ran on
    window: int
    update: Timing  # one new frame: preprocess it, encode it, re-run the head
    full_window: Timing  # predict_preprocessed on `window` already-preprocessed frames

    @property
    def speedup(self) -> float:
        """How many times cheaper an update is than re-running the window (p50)."""
        return self.full_window.p50 / self.update.p50

    def describe(self) -> str:
        return (f"streaming update vs full {self.window}-frame re-run ({self.config}): "
                f"{self.update.p50:.2f} ms vs {self.full_window.p50:.2f} ms")

    def to_dict(self) -> Dict[str, Any]:
        return {"config": self.config, "window": self.window,
                "update_p50_ms": self.update.p50, "update_p95_ms": self.update.p95,
                "full_window_p50_ms": self.full_window.p50,
                "full_window_p95_ms": self.full_window.p95, "speedup": self.speedup}


def time_streaming(recognizer: Recognizer, paths: Sequence[Path], *, window: int,
                   warmup_s: float, duration_s: float) -> StreamingResult:
    """Frames are decoded to uint8 arrays first (a tracker hands over decoded crops); an
    update still pays the resize/normalise of its one frame, the full re-run gets its
    frames preprocessed, as `predict_preprocessed` is meant to be used."""
    pad = recognizer.manifest.preprocess.pad_value
    decoded = [np.asarray(load_rgb(p, pad_value=pad)) for p in paths]
    stream = recognizer.stream(window=window)
    for frame in itertools.islice(itertools.cycle(decoded), window):
        stream.update(TRACK, frame)  # fill the window: every timed update sees a full one
    frames = itertools.cycle(decoded)
    chosen = [decoded[i % len(decoded)] for i in range(window)]
    preprocessed = preprocess_frames(chosen, recognizer.manifest.preprocess)
    return StreamingResult(
        config=f"{recognizer.backend} {recognizer.precision}",
        window=window,
        update=time_call(lambda: stream.update(TRACK, next(frames)), warmup_s=warmup_s,
                         duration_s=duration_s),
        full_window=time_call(lambda: recognizer.predict_preprocessed([preprocessed]),
                              warmup_s=warmup_s, duration_s=duration_s),
    )
