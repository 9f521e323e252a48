"""A contact sheet of a dataset: one row per sequence, to see at a glance what a model gets.

Sequences are what `discovery` finds, so every layout training reads is previewed the same way
(label folders with or without tracks, SoccerNet's tracklets, illegible ones included); rows
come from different labels, chosen by seed.
"""

from pathlib import Path
from typing import Dict, List, Optional, Tuple

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from jersey_edge.core.errors import InputError
from jersey_edge.core.fileio import atomic_path
from jersey_edge.core.preprocess import load_rgb
from jersey_edge.data.discovery import SequenceRecord, discover

CELL = (64, 112)  # every frame is fitted into this box, keeping its aspect
CAPTION = 14  # row caption strip height
TAG = 11  # per-cell tag strip height
BACKGROUND = (40, 40, 40)


def _sequences(root: Path) -> Dict[int, List[SequenceRecord]]:
    """label -> its sequences, in discovery's order."""
    found: Dict[int, List[SequenceRecord]] = {}
    for record in discover(root).records:
        found.setdefault(record.label, []).append(record)
    return found


def _pick(found: Dict[int, List[SequenceRecord]], rows: int,
          seed: int) -> List[SequenceRecord]:
    """Round-robin over labels in seeded order, one unseen sequence per label per round."""
    rng = np.random.default_rng(seed)
    labels = [sorted(found)[i] for i in rng.permutation(len(found))]
    pools = {
        label: [found[label][i] for i in rng.permutation(len(found[label]))] for label in labels
    }
    picked: List[SequenceRecord] = []
    while len(picked) < rows and any(pools.values()):
        for label in labels:
            if pools[label] and len(picked) < rows:
                picked.append(pools[label].pop())
    return picked


def _cells(record: SequenceRecord, count: int) -> List[Tuple[str, Path]]:
    """The anchor (if any) then frames spread evenly over the sequence: (tag, path)."""
    frames = record.frames
    cells = [("anchor", record.anchor)] if record.anchor is not None else []
    room = count - len(cells)
    if frames and room > 0:
        picks = np.unique(
            np.linspace(0, len(frames) - 1, min(room, len(frames))).round().astype(int)
        )
        cells += [(f"#{i}", frames[i]) for i in picks]
    return cells[:count]


def _fit(path: Path) -> Optional[Image.Image]:
    """The frame fitted into a cell, or None when it cannot be decoded (as training skips it)."""
    try:
        image = load_rgb(path)
    except InputError:
        return None
    scale = min(CELL[0] / image.width, CELL[1] / image.height)
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    return image.resize(size, Image.Resampling.NEAREST if scale >= 1 else Image.Resampling.BILINEAR)


def contact_sheet(
    data_root: Path, out: Path, *, rows: int = 8, frames_per_row: int = 12, seed: int = 0
) -> Path:
    """Draw `rows` sequences (one per row, anchor first) into a PNG at `out`; return `out`.

    Each cell is tagged with the label and frame index; each row's caption gives the label
    and the sequence path relative to `data_root`.
    """
    if rows < 1 or frames_per_row < 1:
        raise InputError(f"rows and frames_per_row must be >= 1, got {rows} and {frames_per_row}")
    root, out = Path(data_root), Path(out)
    found = _sequences(root)
    picked = _pick(found, rows, seed)
    row_h = CAPTION + CELL[1] + TAG
    sheet = Image.new("RGB", (CELL[0] * frames_per_row, row_h * len(picked)), BACKGROUND)
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.load_default()
    for r, record in enumerate(picked):
        top = r * row_h
        label = str(record.label) if record.legible else "illegible"
        draw.text((3, top + 1), f"{label}   {record.sequence}", fill="white", font=font)
        for c, (tag, path) in enumerate(_cells(record, frames_per_row)):
            image = _fit(path)
            left = c * CELL[0]
            if image is None:
                tag, colour = f"{tag} bad", (255, 90, 90)
            else:
                sheet.paste(image, (left + (CELL[0] - image.width) // 2,
                                    top + CAPTION + CELL[1] - image.height))
                colour = (255, 210, 60) if tag == "anchor" else (190, 190, 190)
            draw.text((left + 2, top + CAPTION + CELL[1]), f"{label} {tag}", fill=colour, font=font)
    with atomic_path(out) as tmp:
        sheet.save(tmp, format="PNG")
    return out
