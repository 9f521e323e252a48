"""What counts as a frame in a sequence folder; shared by dataset discovery and `predict`."""

import re
from pathlib import Path
from typing import Counter, List, Optional, Tuple, Union

from .errors import InputError

FRAME_SUFFIXES = (".jpg", ".jpeg", ".png")
ANCHOR = "anchor.jpg"

_DIGIT_RUNS = re.compile(r"([0-9]+)")


def frame_sort_key(path: Path) -> Tuple[Tuple[Union[str, int], ...], str]:
    """Natural order: frame_2 before frame_10, as a camera numbered them; zero-padded names
    (frame_002) keep their order. The name itself breaks ties (f1 vs f01), so it is total."""
    parts = _DIGIT_RUNS.split(path.name)  # text, digits, text, ...: types line up by position
    return tuple(int(p) if i % 2 else p for i, p in enumerate(parts)), path.name


def split_sequence_folder(folder: Path) -> Tuple[List[Path], Optional[Path]]:
    """Frames of a sequence folder in natural order, and its anchor (the best view) if any."""
    frames = sorted(
        (p for p in folder.iterdir()
         if p.is_file() and p.suffix.lower() in FRAME_SUFFIXES and p.name != ANCHOR),
        key=frame_sort_key,
    )
    anchor = folder / ANCHOR
    return frames, (anchor if anchor.is_file() else None)


def sequence_frames(folder: Path) -> List[Path]:
    """Frames to recognise from a folder; a folder holding only an anchor uses the anchor."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"{folder}: not a folder of frames")
    frames, anchor = split_sequence_folder(folder)
    if not frames and anchor is None:
        raise InputError(f"{folder}: no frames ({', '.join(FRAME_SUFFIXES)}) in this folder")
    return frames or [anchor]  # type: ignore[list-item]


def subfolders(folder: Path, skipped: Counter) -> List[Path]:
    """`folder`'s sub-folders, sorted; an unreadable folder is counted in `skipped`, not fatal
    (dataset discovery reports every skip at the end)."""
    try:
        return sorted(p for p in folder.iterdir() if p.is_dir())
    except OSError:
        skipped["unreadable folder"] += 1
        return []
