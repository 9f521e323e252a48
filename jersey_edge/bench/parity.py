"""Does a faster row still read the same numbers? Accuracy, agreement and logit drift.

Agreement (same predicted number as PyTorch FP32) is what a user notices; max |delta logit|
is the early warning (an FP16 overflow or a bad INT8 scale shows up there before it flips
predictions on a small test set).
"""

from dataclasses import dataclass
from typing import Optional, Tuple

import numpy as np

from ..core.metrics import accuracy, decode_numbers
from .inputs import SequenceSet
from .runners import Runner

Logits = Tuple[np.ndarray, np.ndarray]  # tens [S,11], ones [S,10]

# Sequences per call: 16 x 16 frames keeps the encoder busy without large activations.
CHUNK = 16


@dataclass(frozen=True)
class Parity:
    number_acc: Optional[float]  # None when the set has no targets
    agreement: Optional[float]  # None when there is no reference to agree with
    max_abs_logit_diff: Optional[float]
    n: int


def run_logits(runner: Runner, sequences: SequenceSet, chunk: int = CHUNK) -> Logits:
    """Logits of every sequence, computed as the runtime does: only real frames go through
    the encoder; the head sees zero-padded embeddings and the mask."""
    tens, ones = [], []
    max_frames = sequences.mask.shape[1]
    for start in range(0, len(sequences), chunk):
        index = range(start, min(start + chunk, len(sequences)))
        lengths = [int(sequences.lengths[i]) for i in index]
        embeddings = runner.encode(np.concatenate([sequences.real_frames(i) for i in index]))
        padded = np.zeros((len(index), max_frames, embeddings.shape[1]), dtype=np.float32)
        offsets = np.cumsum([0] + lengths)
        for row, (a, b) in enumerate(zip(offsets, offsets[1:])):
            padded[row, : b - a] = embeddings[a:b]
        t, o = runner.head(padded, sequences.mask[start:start + len(index)])
        tens.append(t)
        ones.append(o)
    return np.concatenate(tens), np.concatenate(ones)


def compare(logits: Logits, reference: Optional[Logits], sequences: SequenceSet) -> Parity:
    """Accuracy against the set's targets; agreement and drift against `reference`."""
    tens, ones = logits
    number_acc = None
    if sequences.tens is not None and sequences.ones is not None:
        number_acc = accuracy(tens, ones, sequences.tens, sequences.ones).number_acc
    if reference is None:
        return Parity(number_acc, None, None, len(tens))
    ref_tens, ref_ones = reference
    agreement = float(np.mean(decode_numbers(tens, ones) == decode_numbers(ref_tens, ref_ones)))
    drift = max(float(np.abs(tens - ref_tens).max()), float(np.abs(ones - ref_ones).max()))
    return Parity(number_acc, agreement, drift, len(tens))
