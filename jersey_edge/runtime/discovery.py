"""What counts as a frame in a sequence folder; shared by dataset discovery and `predict`."""

from pathlib import Path
from typing import List, Optional, Tuple

from .errors import InputError

FRAME_SUFFIXES = (".jpg", ".jpeg", ".png")
ANCHOR = "anchor.jpg"


def split_sequence_folder(folder: Path) -> Tuple[List[Path], Optional[Path]]:
    """Frames of a sequence folder sorted by name, and its anchor (the best view) if any."""
    frames = sorted(
        p for p in folder.iterdir()
        if p.is_file() and p.suffix.lower() in FRAME_SUFFIXES and p.name != ANCHOR
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
