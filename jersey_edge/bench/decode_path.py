"""The decode path: what frame files cost on top of the model, measured rather than modelled.

Per frame, on one thread: decode (JPEG/PNG to RGB, draft mode for large JPEGs) and
preprocess (keep-aspect resize, pad, sharpen, normalise). Per batch, interleaved round by
round: the model alone (`predict_preprocessed`) and end to end (`predict_batch` on the
files, which decodes each sequence's frames in parallel). Model time / end-to-end time per
round is the end-to-end throughput as a share of the model-only throughput.
"""

import itertools
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Sequence

from ..core.preprocess import load_rgb, network_size, to_network_input
from ..runtime import Recognizer
from .report import Ratio
from .timing import Timing, call_step, round_robin, time_call


@dataclass(frozen=True)
class DecodePathResult:
    config: str  # backend and precision it ran on
    batch: int  # sequences per call
    frames: int  # frames per sequence
    decode: Timing  # per frame, one thread
    preprocess: Timing  # per frame, one thread, from the decoded image
    model: Timing  # per batch, preprocessed input
    end_to_end: Timing  # per batch, from the files
    round_shares: List[float]  # model p50 / end-to-end p50, per interleaved round

    @property
    def share(self) -> Ratio:
        what = (f"end-to-end vs model-only throughput ({self.config}, batch {self.batch}): "
                f"{self.model.p50:.1f} ms model vs {self.end_to_end.p50:.1f} ms from files")
        return Ratio.from_rounds(self.round_shares, what)

    def to_dict(self) -> Dict[str, Any]:
        frames = self.batch * self.frames
        return {"config": self.config, "batch": self.batch, "frames": self.frames,
                "decode_ms_per_frame": self.decode.p50,
                "preprocess_ms_per_frame": self.preprocess.p50,
                "model_ms_per_frame": self.model.p50 / frames,
                "end_to_end_ms_per_frame": self.end_to_end.p50 / frames,
                "model_p50_ms": self.model.p50, "end_to_end_p50_ms": self.end_to_end.p50,
                "share": self.share.value, "round_shares": self.round_shares}


def time_decode_path(recognizer: Recognizer, paths: Sequence[Path], *, batch: int,
                     frames: int, warmup_s: float, duration_s: float) -> DecodePathResult:
    """`batch` sequences of `frames` files, cycling through `paths`."""
    cfg = recognizer.manifest.preprocess
    fit = network_size(cfg)
    sequences = [[paths[(i * frames + t) % len(paths)] for t in range(frames)]
                 for i in range(batch)]
    preprocessed = [recognizer.preprocess(sequence) for sequence in sequences]
    files = itertools.cycle(paths)
    decode = time_call(lambda: load_rgb(next(files), pad_value=cfg.pad_value, fit=fit),
                       warmup_s=warmup_s, duration_s=duration_s / 2)
    images = itertools.cycle([load_rgb(p, pad_value=cfg.pad_value, fit=fit) for p in paths])
    preprocess = time_call(lambda: to_network_input(next(images), cfg),
                           warmup_s=warmup_s, duration_s=duration_s / 2)
    model, end_to_end = round_robin(
        [call_step(lambda: recognizer.predict_preprocessed(preprocessed)),
         call_step(lambda: recognizer.predict_batch(sequences))],
        warmup_s=warmup_s, duration_s=duration_s)
    return DecodePathResult(
        config=f"{recognizer.backend} {recognizer.precision}", batch=batch, frames=frames,
        decode=decode, preprocess=preprocess,
        model=Timing.joined([r["call"] for r in model]),
        end_to_end=Timing.joined([r["call"] for r in end_to_end]),
        round_shares=[m["call"].p50 / e["call"].p50 for m, e in zip(model, end_to_end)])
