"""Which tracks exist: label, split, folder name, sequence count and seed of every track.

The plan is made up front from the seed alone, so every track can be rendered independently
(in any worker, in any order) and the output never depends on the worker count.
"""

from dataclasses import dataclass
from typing import List, Sequence, Tuple

import numpy as np

from .config import SynthConfig

MAIN, HELDOUT = "main", "heldout"
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
