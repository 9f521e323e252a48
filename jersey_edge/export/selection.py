"""Deterministic choice of dataset sequences for calibration and golden outputs.

Both want coverage rather than a random handful: every label early, no label dominating.
The same records and seed always give the same choice in the same order, so re-exporting a
checkpoint reproduces its calibration and golden.npz byte for byte.
"""

import random
from collections import defaultdict
from pathlib import Path
from typing import Dict, List, Sequence

import numpy as np

from ..core.sampling import linspace_indices
from ..data.discovery import SequenceRecord


def _by_label(records: Sequence[SequenceRecord], seed: int,
              purpose: str) -> Dict[int, List[SequenceRecord]]:
    """Label -> its records in a seeded order (independent of the order they came in)."""
    by_label: Dict[int, List[SequenceRecord]] = defaultdict(list)
    for record in sorted(records, key=lambda r: r.sequence):
        by_label[record.label].append(record)
    for label, members in by_label.items():
        random.Random(f"{purpose}/{seed}/{label}").shuffle(members)
    return by_label


def interleave_by_label(records: Sequence[SequenceRecord], seed: int,
                        purpose: str) -> List[SequenceRecord]:
    """All records, labels visited round-robin, each label's sequences in a seeded order.

    `purpose` salts the seed so calibration and golden picks are independent of each other.
    """
    by_label = _by_label(records, seed, purpose)
    rounds = max((len(m) for m in by_label.values()), default=0)
    return [by_label[label][i] for i in range(rounds) for label in sorted(by_label)
            if i < len(by_label[label])]


def frames_by_label(records: Sequence[SequenceRecord], size: int, seed: int,
                    purpose: str) -> List[Path]:
    """At most `size` frames spread over labels first, then over each label's sequences.

    Every label gets the same share (a label with fewer frames gives all it has and the
    others make up the rest), whatever its number of sequences; within a label its share is
    spread over its sequences by `spread_frames`. Labels then take turns, in a seeded order,
    so a short choice still covers as many labels as it can. Fewer frames come back only
    when there are fewer in all; same records + size + seed -> same frames, same order.
    """
    by_label = _by_label(records, seed, purpose)
    labels = sorted(by_label)
    random.Random(f"{purpose}/{seed}/labels").shuffle(labels)
    totals = [sum(len(r.frames) for r in by_label[label]) for label in labels]
    share = _quota(totals, size)
    picks = [spread_frames([r.frames for r in by_label[label]], min(total, share))
             for label, total in zip(labels, totals)]
    return _take_turns(picks)[:size]


def spread_frames(groups: Sequence[Sequence[Path]], size: int) -> List[Path]:
    """At most `size` frames, every group (sequence, folder) giving its k-th frame before any
    gives its (k+1)-th; a group's frames are spread over it by linspace. Each group gives at
    most the smallest quota that lets all of them together reach `size`, so short groups
    never starve the choice; fewer frames come back only when there are fewer in all."""
    quota = _quota([len(g) for g in groups], size)
    picks = [[g[i] for i in linspace_indices(len(g), quota)] for g in groups]
    return _take_turns(picks)[:size]


def _quota(lengths: Sequence[int], size: int) -> int:
    """The smallest per-group count that lets groups of these lengths give `size` in all
    (or everything they have)."""
    quota = -(-size // max(len(lengths), 1))  # ceil
    while sum(min(n, quota) for n in lengths) < size and quota < max(lengths, default=0):
        quota += 1
    return quota


def _take_turns(picks: Sequence[Sequence[Path]]) -> List[Path]:
    """Every list's k-th item before any list's (k+1)-th."""
    rounds = max((len(p) for p in picks), default=0)
    return [pick[k] for k in range(rounds) for pick in picks if k < len(pick)]


def golden_lengths(count: int, max_frames: int) -> List[int]:
    """Sequence lengths from max_frames down to 1, spread evenly (padding gets exercised)."""
    if count <= 0:
        return []
    return [int(v) for v in np.rint(np.linspace(max_frames, 1, count))]


def truncated_indices(num_frames: int, length: int, max_frames: int) -> List[int]:
    """Frames of a track seen for only `length` frames, then sampled as the runtime samples.

    The first `length` frames stand in for a shorter sequence; linspace then picks at most
    max_frames of them, exactly as Recognizer.preprocess would.
    """
    kept = min(num_frames, length)
    return linspace_indices(kept, max_frames)
