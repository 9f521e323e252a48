"""MOTChallenge tracks files, as ByteTrack and BoT-SORT write them: `frame,id,x,y,w,h,conf,...`.

Frames are 1-based, (x, y) is the box's top-left corner and (w, h) its size in pixels;
columns after the sixth (score, class, world coordinates) are ignored. Blank lines and
`#` comments are skipped, and whitespace-separated files are read as well. A tracker may let
ids jump or come back after a gap; one id twice in one frame is an error, as is any line
that is not a box, because a silently dropped line would be a silently missing player.
Files are read a line at a time and must be sorted by frame (as MOTChallenge files are), so
a whole match's tracks never sit in memory at once.
"""

import itertools
import math
from dataclasses import dataclass
from typing import Dict, Iterable, Iterator, List, Optional, Sequence, Tuple

from ..core.errors import InputError
from ..core.fileio import NotRegularFileError, PathLike, atomic_write_text, open_regular_file

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
    """Every box of a tracks file, in file order; InputError naming the line of any fault.
    For a whole match use `check_mot` and `iter_mot`, which hold one frame's boxes at a time."""
    check_mot(path)
    return list(iter_mot(path))


def check_mot(path: PathLike) -> int:
    """Read the whole file once, holding one frame's boxes at a time, and return its box
    count; InputError at the first fault, with its line: a bad line, a track twice in one
    frame, or frames out of order (MOTChallenge files are sorted by frame, which is what lets
    `iter_mot` stream them)."""
    count = 0
    for _ in _frames(path):
        count += 1
    if count == 0:
        raise InputError(f"{path} holds no boxes (empty, or only comments); {FORMAT}")
    return count


def iter_mot(path: PathLike) -> Iterator[TrackBox]:
    """The boxes of a tracks file that `check_mot` accepted, in file order, a line at a time:
    memory does not grow with the file."""
    return (box for box, _ in _frames(path))


def _frames(path: PathLike) -> Iterator[Tuple[TrackBox, int]]:
    """(box, line number) of every data line, checked line by line and frame by frame."""
    frame = 0
    first_line: Dict[int, int] = {}  # track id -> its line in the current frame
    for line_no, line in _lines(path):
        try:
            box = _parse(line)
        except ValueError as exc:
            raise InputError(f"{path}:{line_no}: {exc}; {FORMAT}") from None
        if box.frame < frame:
            raise InputError(f"{path}:{line_no}: frame {box.frame} comes after frame {frame}: "
                             "the boxes must be sorted by frame, as MOTChallenge writes them "
                             f"(sort -t, -k1,1n -s {path} > sorted.txt)")
        if box.frame > frame:
            frame, first_line = box.frame, {}
        if box.track_id in first_line:
            raise InputError(f"{path}:{line_no}: track {box.track_id} appears twice in frame "
                             f"{box.frame} (first on line {first_line[box.track_id]}); each "
                             "track has at most one box per frame")
        first_line[box.track_id] = line_no
        yield box, line_no


def _lines(path: PathLike) -> Iterator[Tuple[int, str]]:
    """(number, stripped text) of each data line: blank lines and # comments skipped."""
    try:
        with open_regular_file(path) as handle:
            for line_no, raw in enumerate(handle, start=1):
                try:
                    stripped = raw.decode("utf-8").strip()
                except UnicodeDecodeError:
                    raise InputError(f"{path} is not a text file; {FORMAT}") from None
                if stripped and not stripped.startswith("#"):
                    yield line_no, stripped
    except FileNotFoundError:
        raise InputError(f"{path}: no such tracks file; {FORMAT}") from None
    except (NotRegularFileError, OSError) as exc:
        raise InputError(f"{path}: cannot read the tracks file ({exc})") from None


def write_mot(path: PathLike, boxes: Sequence[TrackBox]) -> None:
    """Write `boxes` as ByteTrack does (`frame,id,x,y,w,h,1,-1,-1,-1`), sorted by frame (stable),
    atomically; refuses what `read_mot` would refuse, so every file written here reads back."""
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
                     + ["1", "-1", "-1", "-1"]) for b in sorted(boxes, key=_frame))
    atomic_write_text(path, "".join(row + "\n" for row in rows))


def frames_of(boxes: Iterable[TrackBox]) -> Iterator[Tuple[int, List[TrackBox]]]:
    """(frame, its boxes) in increasing frame order from boxes sorted by frame (as `iter_mot`
    yields them), one frame in memory at a time."""
    return ((frame, list(group)) for frame, group in itertools.groupby(boxes, key=_frame))


def _frame(box: TrackBox) -> int:
    return box.frame


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
    # The box a crop uses is (x, y, x + w, y + h): it must exist in floating point too.
    x1, y1 = box.x + box.w, box.y + box.h
    if not (math.isfinite(x1) and math.isfinite(y1)):
        return f"box corner ({x1:g}, {y1:g}) overflows: x + w and y + h must be finite"
    if x1 <= box.x or y1 <= box.y or not (math.isfinite(x1 - box.x) and math.isfinite(y1 - box.y)):
        return (f"box size {box.w:g}x{box.h:g} vanishes at ({box.x:g}, {box.y:g}): "
                "x + w must exceed x and y + h exceed y")
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
