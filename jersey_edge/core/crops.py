"""Tracker boxes -> player crops, by the rule the training crops follow.

A training crop is the tracker's box itself: the synthetic generator frames each player as
a detector box would (`data/synth/motion._framing`: box size, jitter, slips), and public
jersey datasets store tracker crops. So the default rule adds no margin; `CropRule` can
widen boxes for a detector that draws them tighter than the data's.
Boxes are (x0, y0, x1, y1) in pixels, x1/y1 exclusive, as trackers report xyxy.
"""

from dataclasses import dataclass
from typing import Optional, Sequence, Tuple

import numpy as np

from .errors import InputError

Box = Tuple[int, int, int, int]
MIN_SIDE = 2  # pixels: a crop narrower than this holds no digit at all


@dataclass(frozen=True)
class CropRule:
    pad_x: float = 0.0  # fraction of the box width added on each side
    pad_y: float = 0.0  # fraction of the box height added above and below

    def __post_init__(self) -> None:
        if not (0.0 <= self.pad_x <= 1.0 and 0.0 <= self.pad_y <= 1.0):
            raise InputError(f"crop padding must be a fraction from 0 to 1, got "
                             f"({self.pad_x}, {self.pad_y})")


def crop_box(box_xyxy: Sequence[float], frame_size: Tuple[int, int],
             rule: CropRule = CropRule()) -> Optional[Box]:
    """The pixel box to cut for `box_xyxy` in a frame of (width, height), clipped to the
    frame; None when too little of it lies inside (off screen, or degenerate)."""
    values = [float(v) for v in box_xyxy]
    if len(values) != 4 or not all(np.isfinite(values)):
        raise InputError(f"a box must be 4 finite numbers x0, y0, x1, y1, got {list(box_xyxy)}")
    x0, y0, x1, y1 = values
    if x1 <= x0 or y1 <= y0:
        raise InputError(f"box {values} has x1 <= x0 or y1 <= y0: boxes are x0, y0, x1, y1")
    if not (np.isfinite(x1 - x0) and np.isfinite(y1 - y0)):
        raise InputError(f"box {values} is wider or taller than a float can hold")
    dx, dy = (x1 - x0) * rule.pad_x, (y1 - y0) * rule.pad_y
    width, height = frame_size
    left, top = max(0, int(np.floor(x0 - dx))), max(0, int(np.floor(y0 - dy)))
    right, bottom = min(width, int(np.ceil(x1 + dx))), min(height, int(np.ceil(y1 + dy)))
    if right - left < MIN_SIDE or bottom - top < MIN_SIDE:
        return None
    return left, top, right, bottom


def cut(frame: np.ndarray, box: Box) -> np.ndarray:
    """The crop of an HxWx3 frame (a copy, so the video buffer can be reused)."""
    left, top, right, bottom = box
    return np.ascontiguousarray(frame[top:bottom, left:right])
