"""Frame sampling shared by training and the runtime, so both see sequences the same way."""

from typing import List

import numpy as np


def linspace_indices(num_frames: int, max_frames: int) -> List[int]:
    """Evenly spread indices: all frames when there are few, max_frames of them otherwise."""
    if num_frames <= max_frames:
        return list(range(num_frames))
    return [int(round(i)) for i in np.linspace(0, num_frames - 1, max_frames)]
