"""Rendering one track: a player (kit, print) seen in 1-3 sequences, each with its anchor.

Everything random comes from one generator seeded by (seed, track index) and consumed in a
fixed order, so a track renders identically in any worker. A sequence in which some digit is
never readable is redrawn: real datasets are labelled by people who saw the number somewhere
in the track, so such a sequence would not carry this label at all.
"""

from dataclasses import dataclass
from typing import List, Sequence, Tuple

import numpy as np

from .background import make_background
from .config import SynthConfig
from .motion import FrameParams, SequenceMotion, sample_motion
from .printing import ONES, TENS, PrintTexture, build_print
from .render import Camera, draw_frame, make_scene, predicted_shown
from .style import Kit, sample_kit

MIN_HELDOUT_PER_LABEL = 3


@dataclass(frozen=True)
class TrackSpec:
    index: int
    label: int
    split: str
    n_sequences: int
    seed: Tuple[int, int]

    @property
    def name(self) -> str:
        return f"t{self.index:05d}"

    @property
    def reldir(self) -> str:
        """Track folder relative to the output root (held-out tracks live under heldout/)."""
        base = f"{self.label}/{self.name}"
        return base if self.split == MAIN else f"{HELDOUT}/{base}"


def heldout_sequences_per_label(sequences: int, n_labels: int) -> int:
    """Same per-label density as the main pool, but never so few that a label is a fluke."""
    return max(MIN_HELDOUT_PER_LABEL, round(sequences / n_labels))


def plan_tracks(
    sequences: int,
    labels: Sequence[int],
    heldout: Sequence[int],
    seed: int,
    config: SynthConfig,
) -> List[TrackSpec]:
    """Spread `sequences` evenly over `labels` (remainder to a seeded choice) and cut each
    label's quota into tracks of 1-3 sequences; held-out labels get extra sequences."""
    rng = np.random.default_rng([seed, 0])
    base, extra = divmod(sequences, len(labels))
    lucky = set(rng.permutation(len(labels))[:extra].tolist())
    quotas = [(MAIN, label, base + (i in lucky)) for i, label in enumerate(labels)]
    per_heldout = heldout_sequences_per_label(sequences, len(labels))
    quotas += [(HELDOUT, label, per_heldout) for label in heldout]
    low, high = config.sequences_per_track
    tracks: List[TrackSpec] = []
    for split, label, quota in quotas:
        while quota > 0:
            size = min(quota, int(rng.integers(low, high + 1)))
            index = len(tracks)
            tracks.append(TrackSpec(index, label, split, size, (seed, index)))
            quota -= size
    return tracks


MAX_ATTEMPTS = 6
READABLE = 0.55  # a digit counts as shown once some frame shows this fraction of it


@dataclass(frozen=True)
class RenderedSequence:
    frames: Tuple[bytes, ...]
    anchor: int  # index of the most legible frame: the best single view
    legibility: Tuple[float, ...]  # per frame, 0-1: least-shown digit x camera quality


def frame_quality(frame: FrameParams, number_height: float) -> float:
    """0-1: how well the camera chain keeps a number of this height (size, blur, noise)."""
    pixels = number_height * frame.scale / frame.lowres
    size = float(np.clip((pixels - 5) / 15, 0, 1))
    sharp = 1 / (1 + (frame.blur + 2 * frame.defocus) / (0.3 * pixels))
    clean = (1 - frame.noise / 40) * (0.85 + 0.15 * (frame.quality - 30) / 60)
    return size * sharp * clean


def _turning_enough(
    rng: np.random.Generator, config: SynthConfig, centres: List[float]
) -> SequenceMotion:
    """Draw motions until geometry alone would show every digit somewhere (no pixels yet)."""
    for _ in range(MAX_ATTEMPTS * 4):
        motion = sample_motion(rng, config)
        if all(predicted_shown(motion, u).max() >= READABLE for u in centres):
            break
    return motion


def _render(kit: Kit, tex: PrintTexture, motion: SequenceMotion, rng: np.random.Generator):
    """-> (JPEG bytes per frame, shown fraction of each digit [n, 2], camera quality [n])."""
    frames = motion.frames
    max_w, max_h = max(f.width for f in frames), max(f.height for f in frames)
    bg_h, bg_w = int(max_h * 1.2) + 4, int(max_w * 1.5) + 4
    background = make_background(rng, kit.venue, bg_h, bg_w)
    scene = make_scene(kit, tex, motion, float(np.mean([f.scale for f in frames])))
    camera = Camera(rng, max_h, max_w)
    reference = np.array([tex.back_ink(TENS), tex.back_ink(ONES)])
    jpegs, shown, quality = [], [], []
    for frame in frames:
        h, w = frame.height, frame.width
        top, left = int(frame.pan[1] * (bg_h - h)), int(frame.pan[0] * (bg_w - w))
        drawn = draw_frame(scene, frame, background[top : top + h, left : left + w].copy())
        jpegs.append(camera.film(drawn.rgb, frame))
        shown.append(np.divide(drawn.ink, reference, out=np.ones(2), where=reference > 0))
        quality.append(frame_quality(frame, tex.number_height))
    return jpegs, np.clip(np.array(shown), 0, 1), np.array(quality)


def render_track(spec: TrackSpec, config: SynthConfig) -> List[RenderedSequence]:
    rng = np.random.default_rng([spec.seed[0], 1, spec.seed[1]])
    kit = sample_kit(rng, config)
    tex = build_print(kit, spec.label, rng)
    centres = [tex.back_centre(d) for d in (TENS, ONES) if tex.back_ink(d) > 0]
    out = []
    for _ in range(spec.n_sequences):
        for _attempt in range(MAX_ATTEMPTS):
            motion = _turning_enough(rng, config, centres)
            jpegs, shown, quality = _render(kit, tex, motion, rng)
            if shown.max(axis=0).min() >= READABLE:
                break
        legibility = shown.min(axis=1) * quality
        out.append(
            RenderedSequence(
                tuple(jpegs),
                int(np.argmax(legibility)),
                tuple(legibility.tolist()),
            )
        )
    return out


MAIN, HELDOUT = "main", "heldout"
