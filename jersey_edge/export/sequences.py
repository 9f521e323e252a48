"""Dataset sequences -> preprocessed arrays, exactly as the runtime would feed them."""

from typing import Iterator, List, Optional, Sequence

import numpy as np

from ..core.preprocess import PreprocessConfig, preprocess_frames
from ..core.sampling import linspace_indices
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
