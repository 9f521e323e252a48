"""Find labelled sequences in a dataset folder, in any of the three known layouts.

`ROOT/<label>/<sequence>/*.jpg` (the sequence is its own track) and
`ROOT/<label>/<track>/<sequence>/*.jpg` (several sequences per track): the layout is read
per folder: a folder that directly holds images is a sequence, otherwise its sub-folders
are. SoccerNet's
`ROOT/<split>/images/<tracklet>/*.jpg` + `<split>_gt.json` (`soccernet.py`) is recognised here
too, and only here: each tracklet is one record, its own track, carrying its SoccerNet split
and, for number -1, `label == ILLEGIBLE` (`legible` False). Anything unusable is skipped,
counted by reason and reported in one warning, so a few bad files never stop a run.

A sequence may carry `legibility.json`, which the synthetic generator writes: {"frames":
[score per frame file, in frame order]}, each 0-1 (how much of the least-shown digit is
visible, times camera quality). With `legibility_weight` above 0, training weights each
frame's digit loss by it. Real datasets have none; their frames all count fully. A sidecar
that does not fit its folder is ignored, never fatal. Torch-free: discovery serves the bench.
"""

import json
import logging
import math
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, NamedTuple, Optional, Sequence, Tuple

from ..core.digits import parse_label
from ..core.errors import DatasetError, InputError
from ..core.preprocess import DECODE_ERRORS, open_frame
from ..core.sequence_folders import split_sequence_folder, subfolders
from . import soccernet
from .soccernet import ILLEGIBLE

log = logging.getLogger("jersey_edge")

# The synthetic generator puts held-out number combinations here; they are discovered by
# calling discover(root / HELDOUT), never as part of the main dataset.
HELDOUT = "heldout"

LAYOUTS = ("ROOT/<label>/<sequence>/*.jpg, ROOT/<label>/<track>/<sequence>/*.jpg or "
           f"{soccernet.LAYOUT}")

DUPLICATE = "same folder as another sequence (symlink)"


@dataclass(frozen=True)
class SequenceRecord:
    """One labelled sequence. `sequence` and `track` are '/'-joined paths relative to root.

    `label` is 0-99, or ILLEGIBLE for a sequence whose number cannot be read (SoccerNet's
    -1): no class of the model fits it, so splits keep it out of training and accuracy.
    `source_split` is the split the dataset itself assigns (SoccerNet's folder), else None.
    """

    label: int
    track: str
    sequence: str
    frames: Tuple[Path, ...]
    anchor: Optional[Path] = None
    source_split: Optional[str] = None
    legibility: Optional[Tuple[float, ...]] = None  # per frame, from the sidecar (legibility.py)

    @property
    def legible(self) -> bool:
        return self.label != ILLEGIBLE


@dataclass
class Discovery:
    records: List[SequenceRecord]
    skipped: Dict[str, int] = field(default_factory=dict)


def discover(root: Path, *, min_frames: int = 1) -> Discovery:
    """All usable sequences under root, sorted by (label, sequence); DatasetError if none."""
    root = Path(root)
    if min_frames < 1:
        raise InputError(f"min_frames must be at least 1, got {min_frames}")
    if not root.is_dir():
        raise DatasetError(f"dataset folder {root} does not exist or is not a folder; "
                           f"expected {LAYOUTS}")
    skipped: Counter = Counter()
    if soccernet.is_soccernet(root):
        records = _soccernet_records(root, min_frames, skipped)
    else:
        records = _label_folder_records(root, min_frames, skipped)
    records = _without_linked_copies(root, records, skipped)
    records.sort(key=lambda r: (r.label, r.sequence))
    counts = dict(sorted(skipped.items()))
    if not records:  # the error names the skips itself: one line, no warning before it
        found = f" (skipped: {_describe(counts)})" if counts else ""
        raise DatasetError(f"no usable sequences in {root}{found}; expected {LAYOUTS} "
                           "with labels 0-99")
    if counts:
        log.warning("dataset %s: skipped %s", root, _describe(counts))
    illegible = Counter(r.source_split for r in records if not r.legible)
    if illegible:
        log.info("dataset %s: %d illegible tracklet(s) (number -1; %s) kept out of training "
                 "and accuracy, discoverable as negatives", root, sum(illegible.values()),
                 ", ".join(f"{split} {n}" for split, n in sorted(illegible.items())))
    return Discovery(records=records, skipped=counts)


def _label_folder_records(root: Path, min_frames: int,
                          skipped: Counter) -> List[SequenceRecord]:
    records: List[SequenceRecord] = []
    for folder in subfolders(root, skipped):
        if folder.name == HELDOUT:
            continue
        try:
            label = parse_label(folder.name)
        except InputError:
            skipped["not a label folder"] += 1
            continue
        records.extend(_label_records(root, folder, label, min_frames, skipped))
    return records


def _soccernet_records(root: Path, min_frames: int, skipped: Counter) -> List[SequenceRecord]:
    """One record per tracklet: the tracklet is both the track and the sequence."""
    records = []
    for tracklet in soccernet.tracklets(root, skipped):
        listing = _images(tracklet.folder, skipped)
        if listing is None:
            skipped["tracklet folder without images"] += 1
            continue
        record = _record(root, tracklet.folder, tracklet.folder, tracklet.label, listing,
                         min_frames, skipped, source_split=tracklet.split)
        if record is not None:
            records.append(record)
    return records


def _label_records(root: Path, label_dir: Path, label: int, min_frames: int,
                   skipped: Counter) -> List[SequenceRecord]:
    out: List[SequenceRecord] = []
    children = subfolders(label_dir, skipped)
    if not children:
        skipped["empty folder"] += 1
    for child in children:
        listing = _images(child, skipped)
        if listing is not None:  # the child is a sequence and its own track
            found = [(child, listing)]
        else:  # the child is a track holding sequence folders
            found = [(s, _images(s, skipped) or _Listing([], None))
                     for s in subfolders(child, skipped)]
            if not found:
                skipped["empty folder"] += 1
        for seq_dir, listing in found:
            record = _record(root, child, seq_dir, label, listing, min_frames, skipped)
            if record is not None:
                out.append(record)
    return out


class _Listing(NamedTuple):
    """What one look at a folder found: its readable frames, anchor, and the scores of its
    legibility sidecar by frame file name (None without a fitting sidecar)."""

    frames: List[Path]
    anchor: Optional[Path]
    scores: Optional[Dict[str, float]] = None


def _record(root: Path, track_dir: Path, seq_dir: Path, label: int,
            listing: _Listing, min_frames: int, skipped: Counter, *,
            source_split: Optional[str] = None) -> Optional[SequenceRecord]:
    """The record of one sequence folder's readable frames, None (counted) if too short."""
    frames, anchor, scores = listing
    if not frames and anchor is not None:
        # Like the runtime's `predict`: a folder holding only the best view uses it.
        frames, anchor = [anchor], None
    if len(frames) < min_frames:
        skipped[f"fewer than {min_frames} frame(s)"] += 1
        return None
    return SequenceRecord(label=label, track=_rel(root, track_dir), sequence=_rel(root, seq_dir),
                          frames=tuple(frames), anchor=anchor, source_split=source_split,
                          legibility=_legibility(scores, frames))


def _legibility(scores: Optional[Dict[str, float]],
                frames: List[Path]) -> Optional[Tuple[float, ...]]:
    """The readable frames' scores, where the sidecar scored every one of them."""
    if scores is None or any(p.name not in scores for p in frames):
        return None
    return tuple(scores[p.name] for p in frames)


def _without_linked_copies(root: Path, records: List[SequenceRecord],
                           skipped: Counter) -> List[SequenceRecord]:
    """One record per real folder: a symlink (`44 -> 4`) would put the same frames in train
    and test. The copy reached without links wins (its path is its label), else the first."""
    real_root = root.resolve()
    by_folder: Dict[Path, List[SequenceRecord]] = {}
    for record in records:
        by_folder.setdefault((root / record.sequence).resolve(), []).append(record)
    kept = []
    for folder, copies in by_folder.items():
        copies.sort(key=lambda r: (real_root / r.sequence != folder, r.label, r.sequence))
        kept.append(copies[0])
        if len(copies) > 1:
            skipped[DUPLICATE] += len(copies) - 1
    return kept


def _images(folder: Path, skipped: Counter) -> Optional[_Listing]:
    """Readable frames and anchor of a folder, broken files counted and left out, and its
    sidecar's scores (which cover every frame file); None when the folder holds no image
    files at all (so it is not a sequence)."""
    try:
        frames, anchor = split_sequence_folder(folder)
    except OSError:
        skipped["unreadable folder"] += 1
        return None
    if not frames and anchor is None:
        return None
    good = []
    for path in frames:
        reason = _image_problem(path)
        if reason:
            skipped[reason] += 1
        else:
            good.append(path)
    if anchor is not None:
        reason = _image_problem(anchor)
        if reason:
            skipped[reason] += 1
            anchor = None
    return _Listing(good, anchor, read_legibility(folder, [p.name for p in frames]))


def _image_problem(path: Path) -> Optional[str]:
    """Cheap header check (no decoding): a 30k-image dataset is scanned in seconds. Only
    JPEG/PNG headers are read, as the loader will read them; any other format is unreadable."""
    try:
        if path.stat().st_size == 0:
            return "empty image file"
        with open_frame(path) as img:
            if img.width < 1 or img.height < 1:
                return "unreadable image"
    except DECODE_ERRORS:
        return "unreadable image"
    return None


def _rel(root: Path, path: Path) -> str:
    return path.relative_to(root).as_posix()


def _describe(counts: Dict[str, int]) -> str:
    return ", ".join(f"{n} {reason}" for reason, n in counts.items())


LEGIBILITY = "legibility.json"


def read_legibility(folder: Path, frame_names: Sequence[str]) -> Optional[Dict[str, float]]:
    """Frame file name -> score from `folder`'s sidecar, None where there is none or it does
    not fit: one score per name of `frame_names` (every frame file of the folder, in order)."""
    path = folder / LEGIBILITY
    try:
        scores = json.loads(path.read_text(encoding="utf-8"))["frames"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not isinstance(scores, list) or len(scores) != len(frame_names):
        return None
    if not all(isinstance(s, (int, float)) and not isinstance(s, bool) and math.isfinite(s)
               and 0.0 <= s <= 1.0 for s in scores):
        return None
    return dict(zip(frame_names, (float(s) for s in scores)))
