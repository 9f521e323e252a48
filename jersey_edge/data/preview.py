"""A contact sheet of a dataset: one row per sequence, to see at a glance what a model gets.

Sequences are found by globbing `<label>/<seq>/` and `<label>/<track>/<seq>/` folders that
hold JPEGs (both real layouts), rows come from different labels, chosen by seed.
"""

from pathlib import Path
from typing import Dict, List, Optional, Tuple

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from jersey_edge.core.errors import DatasetError, InputError
from jersey_edge.core.fileio import atomic_path
from jersey_edge.core.labels import parse_label
from jersey_edge.core.preprocess import load_rgb
from jersey_edge.core.sequence_folders import split_sequence_folder

CELL = (64, 112)  # every frame is fitted into this box, keeping its aspect
CAPTION = 14  # row caption strip height
TAG = 11  # per-cell tag strip height
BACKGROUND = (40, 40, 40)


def _sequences(root: Path) -> Dict[int, List[Path]]:
    """label -> sequence folders (sorted) for both dataset layouts."""
    found: Dict[int, List[Path]] = {}
    for folder in sorted(set(root.glob("*/*")) | set(root.glob("*/*/*"))):
        if not folder.is_dir() or not any(folder.glob("*.jpg")):
            continue
        try:
            label = parse_label(folder.relative_to(root).parts[0])
        except InputError:
            continue
        found.setdefault(label, []).append(folder)
    return found


def _pick(found: Dict[int, List[Path]], rows: int, seed: int) -> List[Tuple[int, Path]]:
    """Round-robin over labels in seeded order, one unseen sequence per label per round."""
    rng = np.random.default_rng(seed)
    labels = [sorted(found)[i] for i in rng.permutation(len(found))]
    pools = {
        label: [found[label][i] for i in rng.permutation(len(found[label]))] for label in labels
    }
    picked: List[Tuple[int, Path]] = []
    while len(picked) < rows and any(pools.values()):
        for label in labels:
            if pools[label] and len(picked) < rows:
                picked.append((label, pools[label].pop()))
    return picked


def _cells(folder: Path, count: int) -> List[Tuple[str, Path]]:
    """The anchor (if any) then frames spread evenly over the sequence: (tag, path)."""
    frames, anchor = split_sequence_folder(folder)
    cells = [("anchor", anchor)] if anchor is not None else []
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
    return image.resize(size, Image.NEAREST if scale >= 1 else Image.BILINEAR)


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
    if not root.is_dir():
        raise DatasetError(f"dataset folder {root} does not exist")
    found = _sequences(root)
    if not found:
        raise DatasetError(
            f"no sequences under {root}: expected <label>/[<track>/]<seq>/*.jpg folders"
        )
    picked = _pick(found, rows, seed)
    row_h = CAPTION + CELL[1] + TAG
    sheet = Image.new("RGB", (CELL[0] * frames_per_row, row_h * len(picked)), BACKGROUND)
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.load_default()
    for r, (label, folder) in enumerate(picked):
        top = r * row_h
        draw.text(
            (3, top + 1),
            f"{label}   {folder.relative_to(root).as_posix()}",
            fill="white",
            font=font,
        )
        for c, (tag, path) in enumerate(_cells(folder, frames_per_row)):
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
