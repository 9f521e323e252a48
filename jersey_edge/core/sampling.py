"""Frame sampling shared by training and the runtime, so both see sequences the same way."""

from typing import List, Tuple

import numpy as np


def linspace_indices(num_frames: int, max_frames: int) -> List[int]:
    """Evenly spread indices: all frames when there are few, max_frames of them otherwise."""
    if num_frames <= max_frames:
        return list(range(num_frames))
    return [int(round(i)) for i in np.linspace(0, num_frames - 1, max_frames)]


def pad_sequence(frames: np.ndarray, max_frames: int) -> Tuple[np.ndarray, np.ndarray]:
    """[T,...] with T<=max_frames -> right-padded [max_frames,...] and float32 mask [max_frames].

    The mask is float (1 = real frame) rather than bool: every backend and precision
    (ONNX Runtime, TensorRT 8.5-11, FP16 graphs) takes a float input the same way.
    """
    count = frames.shape[0]
    padded = np.zeros((max_frames,) + frames.shape[1:], dtype=frames.dtype)
    padded[:count] = frames[:max_frames]
    mask = np.zeros(max_frames, dtype=np.float32)
    mask[: min(count, max_frames)] = 1.0
    return padded, mask
