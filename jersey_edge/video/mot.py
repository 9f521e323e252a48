"""MOTChallenge tracks files, as ByteTrack and BoT-SORT write them: `frame,id,x,y,w,h,conf,...`.

Frames are 1-based, (x, y) is the box's top-left corner and (w, h) its size in pixels;
columns after the sixth (score, class, world coordinates) are ignored. Blank lines and
`#` comments are skipped, and whitespace-separated files are read as well. A tracker may let
ids jump or come back after a gap; one id twice in one frame is an error, as is any line
that is not a box, because a silently dropped line would be a silently missing player.
"""

import math
from collections import defaultdict
from dataclasses import dataclass
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

from ..core.errors import InputError
from ..core.fileio import NotRegularFileError, PathLike, atomic_write_text, read_regular_file

FORMAT = ("expected 'frame,id,x,y,w,h[,conf,...]' (MOTChallenge: 1-based whole frame number, "
          "whole track id >= 0, top-left x,y and width,height in pixels)")
COLUMNS = ("frame", "id", "x", "y", "w", "h")


@dataclass(frozen=True)
class TrackBox:
    """One tracker box: which frame (1-based), which track, and where in pixels."""

    frame: int
    track_id: int
    x: float
    y: float
    w: float
    h: float

    @property
    def xyxy(self) -> Tuple[float, float, float, float]:
        """(x0, y0, x1, y1), x1/y1 exclusive, as `core.crops.crop_box` takes boxes."""
        return (self.x, self.y, self.x + self.w, self.y + self.h)


def read_mot(path: PathLike) -> List[TrackBox]:
    """Every box of a tracks file, in file order; InputError naming the line of any fault."""
    try:
        text = read_regular_file(path).decode("utf-8")
    except FileNotFoundError:
        raise InputError(f"{path}: no such tracks file; {FORMAT}") from None
    except (NotRegularFileError, OSError) as exc:
        raise InputError(f"{path}: cannot read the tracks file ({exc})") from None
    except UnicodeDecodeError:
        raise InputError(f"{path} is not a text file; {FORMAT}") from None
    boxes: List[TrackBox] = []
    lines: List[int] = []
    for line_no, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        try:
            boxes.append(_parse(stripped))
        except ValueError as exc:
            raise InputError(f"{path}:{line_no}: {exc}; {FORMAT}") from None
        lines.append(line_no)
    if not boxes:
        raise InputError(f"{path} holds no boxes (empty, or only comments); {FORMAT}")
    duplicate = _first_duplicate(boxes)
    if duplicate is not None:
        first, again = duplicate
        raise InputError(f"{path}:{lines[again]}: track {boxes[again].track_id} appears twice "
                         f"in frame {boxes[again].frame} (first on line {lines[first]}); each "
                         "track has at most one box per frame")
    return boxes


def write_mot(path: PathLike, boxes: Sequence[TrackBox]) -> None:
    """Write `boxes` as ByteTrack does (`frame,id,x,y,w,h,1,-1,-1,-1`), atomically; refuses
    what `read_mot` would refuse, so every file written here reads back."""
    if not boxes:
        raise InputError(f"no boxes to write to {path}: a tracks file needs at least one box")
    for box in boxes:
        problem = _problem(box)
        if problem is not None:
            raise InputError(f"cannot write {box} to {path}: {problem}")
    duplicate = _first_duplicate(boxes)
    if duplicate is not None:
        box = boxes[duplicate[1]]
        raise InputError(f"cannot write {path}: track {box.track_id} has two boxes in frame "
                         f"{box.frame}")
    rows = (",".join([str(b.frame), str(b.track_id)] + [_number(v) for v in (b.x, b.y, b.w, b.h)]
                     + ["1", "-1", "-1", "-1"]) for b in boxes)
    atomic_write_text(path, "".join(row + "\n" for row in rows))


def boxes_by_frame(boxes: Iterable[TrackBox]) -> Dict[int, List[TrackBox]]:
    """Frame number -> its boxes (in the order given), frames in increasing order."""
    grouped: Dict[int, List[TrackBox]] = defaultdict(list)
    for box in boxes:
        grouped[box.frame].append(box)
    return {frame: grouped[frame] for frame in sorted(grouped)}


def _parse(line: str) -> TrackBox:
    """One data line -> its box; ValueError saying what is wrong with it."""
    fields = [f.strip() for f in line.split(",")] if "," in line else line.split()
    if len(fields) < len(COLUMNS):
        raise ValueError(f"{len(fields)} columns, need at least {len(COLUMNS)}")
    values = []
    for name, field in zip(COLUMNS, fields):
        try:
            values.append(float(field))
        except ValueError:
            raise ValueError(f"{name} {field!r} is not a number") from None
    for name, value in zip(COLUMNS[:2], values[:2]):
        if not value.is_integer():
            raise ValueError(f"{name} {value:g} is not a whole number")
    box = TrackBox(int(values[0]), int(values[1]), *values[2:])
    problem = _problem(box)
    if problem is not None:
        raise ValueError(problem)
    return box


def _problem(box: TrackBox) -> Optional[str]:
    """Why `box` is not a usable tracker box, or None."""
    if box.frame < 1:
        return f"frame {box.frame} is below 1 (MOT frames are 1-based)"
    if box.track_id < 0:
        return f"track id {box.track_id} is negative (a detections file uses -1: give tracks)"
    for name, value in zip(COLUMNS[2:], (box.x, box.y, box.w, box.h)):
        if not math.isfinite(value):
            return f"{name} is {value}, not a finite number"
    if box.w <= 0 or box.h <= 0:
        return f"box size {box.w:g}x{box.h:g} is not positive"
    return None


def _first_duplicate(boxes: Sequence[TrackBox]) -> Optional[Tuple[int, int]]:
    """Indices (first, again) of the first (frame, id) pair seen twice, or None."""
    seen: Dict[Tuple[int, int], int] = {}
    for index, box in enumerate(boxes):
        key = (box.frame, box.track_id)
        if key in seen:
            return seen[key], index
        seen[key] = index
    return None


def _number(value: float) -> str:
    """Whole pixels as integers, anything else exactly (repr round-trips a float)."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))
