"""Dataset sequences -> preprocessed arrays, exactly as the runtime would feed them."""

from typing import Iterator, List, Optional, Sequence, Tuple

import numpy as np

from ..core.preprocess import PreprocessConfig, preprocess_frames
from ..core.sampling import linspace_indices, pad_sequence
from ..data.discovery import SequenceRecord


def sequence_frames(record: SequenceRecord, preprocess: PreprocessConfig, max_frames: int,
                    indices: Optional[List[int]] = None) -> np.ndarray:
    """[T,3,H,W] for one sequence: linspace to max_frames (or given frame indices)."""
    if indices is None:
        indices = linspace_indices(len(record.frames), max_frames)
    return preprocess_frames([record.frames[i] for i in indices], preprocess)


def chunks(records: Sequence[SequenceRecord], size: int) -> Iterator[Sequence[SequenceRecord]]:
    for start in range(0, len(records), size):
        yield records[start:start + size]


def split_and_pad(embeddings: np.ndarray, lengths: Sequence[int],
                  max_frames: int) -> Tuple[np.ndarray, np.ndarray]:
    """Concatenated per-frame embeddings -> [B,max_frames,E] right-padded + [B,max_frames]."""
    starts = np.cumsum([0, *lengths])
    padded, masks = zip(*(pad_sequence(embeddings[a:b], max_frames)
                          for a, b in zip(starts, starts[1:])))
    return np.stack(padded), np.stack(masks)
