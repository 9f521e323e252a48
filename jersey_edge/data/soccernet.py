"""The public SoccerNet jersey-number layout: which tracklet folders hold which number.

`ROOT/<split>/images/<tracklet>/*.jpg` with `ROOT/<split>/<split>_gt.json` mapping each
tracklet id (a string) to its number, 0-99, or -1 where the number cannot be read. Only the
`train` and `test` folders are read (see `USED_SPLITS`; `splits.py` maps them onto ours);
`challenge` has no public ground truth and other folders mean nothing here, so they are
skipped and counted. This module only pairs folders with numbers: `discovery` reads their
frames, exactly as for the other layouts, so every layout yields the same records.

What is refused and what is skipped: a ground-truth file that is missing, not JSON, or holds
anything but numbers 0-99 / -1 is an InputError (no label can be trusted then); a tracklet
folder with no ground-truth entry, a ground-truth entry with no folder, and (in `discovery`)
a tracklet folder without images are skipped, counted by reason in discovery's one warning.
"""

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List

from ..core.digits import MAX_NUMBER, parse_label
from ..core.errors import InputError
from ..core.sequence_folders import subfolders

ILLEGIBLE = -1  # SoccerNet's own code for "no readable number"
IMAGES = "images"
USED_SPLITS = ("train", "test")
LAYOUT = "ROOT/<split>/images/<tracklet>/*.jpg with ROOT/<split>/<split>_gt.json (SoccerNet)"

NO_GROUND_TRUTH = "tracklet folder without a ground-truth entry"
NO_FOLDER = "ground-truth entry without a tracklet folder"
NOT_A_SPLIT = "folder that is not a SoccerNet split"


@dataclass(frozen=True)
class Tracklet:
    """One labelled tracklet folder; `label` is 0-99 or ILLEGIBLE."""

    split: str
    folder: Path
    label: int


def is_soccernet(root: Path) -> bool:
    """True when some non-label sub-folder of root is a SoccerNet split (holds `images/` or
    its `<split>_gt.json`). Label folders (`4/`, `48/`) never are, so layouts cannot clash."""
    return any(_is_split(folder) for folder in subfolders(root, Counter()))


def tracklets(root: Path, skipped: Counter) -> List[Tracklet]:
    """Every tracklet of the used splits that has a number, in (split, folder) order."""
    found: List[Tracklet] = []
    for split_dir in subfolders(root, skipped):
        if not _is_split(split_dir):
            skipped[NOT_A_SPLIT] += 1
        elif split_dir.name not in USED_SPLITS:
            skipped[f"SoccerNet split other than {'/'.join(USED_SPLITS)} "
                    f"({split_dir.name})"] += 1
        else:
            found.extend(_split_tracklets(split_dir, skipped))
    return found


def ground_truth_path(split_dir: Path) -> Path:
    return split_dir / f"{split_dir.name}_gt.json"


def read_ground_truth(path: Path) -> Dict[str, int]:
    """tracklet id -> number (0-99 or ILLEGIBLE); InputError, one line, for anything else."""
    expected = 'expected {"<tracklet id>": <number 0-99, or -1 if illegible>, ...}'
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{path}: missing; a SoccerNet split folder needs its ground truth "
                         f"({expected})") from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise InputError(f"{path}: not readable JSON ({exc}); {expected}") from None
    if not isinstance(data, dict):
        raise InputError(f"{path}: holds a JSON {type(data).__name__}; {expected}")
    for tracklet, number in data.items():
        if type(number) is not int or not (number == ILLEGIBLE or 0 <= number <= MAX_NUMBER):
            raise InputError(f"{path}: tracklet {tracklet!r} has number {number!r}; {expected}")
    return data


def _split_tracklets(split_dir: Path, skipped: Counter) -> List[Tracklet]:
    numbers = read_ground_truth(ground_truth_path(split_dir))
    folders = {f.name: f for f in subfolders(split_dir / IMAGES, skipped)}
    for reason, names in ((NO_GROUND_TRUTH, folders.keys() - numbers.keys()),
                          (NO_FOLDER, numbers.keys() - folders.keys())):
        if names:
            skipped[reason] += len(names)
    return [Tracklet(split=split_dir.name, folder=folders[name], label=numbers[name])
            for name in sorted(folders.keys() & numbers.keys())]


def _is_split(folder: Path) -> bool:
    if _is_label(folder.name):
        return False
    return (folder / IMAGES).is_dir() or ground_truth_path(folder).is_file()


def _is_label(name: str) -> bool:
    try:
        parse_label(name)
    except InputError:
        return False
    return True
