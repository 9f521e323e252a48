"""Boxes and numbers drawn onto a video frame, as `track --annotate` writes them."""

from typing import TYPE_CHECKING, Dict, Sequence, Tuple

import numpy as np
from PIL import Image, ImageDraw

from ..core.crops import crop_box
from .mot import TrackBox

if TYPE_CHECKING:
    from .tracking import TrackResult

READ = (255, 214, 0)  # a track that reads a number
UNREAD = (200, 200, 200)  # one that does not (yet)


def draw_tracks(rgb: np.ndarray, boxes: Sequence[TrackBox],
                tracks: Dict[int, "TrackResult"]) -> np.ndarray:
    """A copy of `rgb` with each box (clipped to the frame, as cropped) and "id: number" (its
    track's answer so far) drawn."""
    image = Image.fromarray(rgb)
    draw = ImageDraw.Draw(image)
    for box in boxes:
        result = tracks.get(box.track_id)
        label = result.label if result is not None else "?"
        colour = UNREAD if label == "?" else READ
        shown = crop_box(box.xyxy, image.size)
        if shown is None:  # off the frame: nothing of it to draw
            continue
        x0, y0, x1, y1 = shown
        draw.rectangle((x0, y0, x1 - 1, y1 - 1), outline=colour, width=2)
        _label(draw, (x0, y0), f"{box.track_id}: {label}", colour)
    return np.asarray(image)


def _label(draw: ImageDraw.ImageDraw, at: Tuple[float, float], text: str,
           colour: Tuple[int, int, int]) -> None:
    left, top, right, bottom = draw.textbbox((0, 0), text)
    x, y = at[0], max(0.0, at[1] - (bottom - top) - 4)
    draw.rectangle((x, y, x + right - left + 4, y + bottom - top + 4), fill=(0, 0, 0))
    draw.text((x + 2 - left, y + 2 - top), text, fill=colour)
