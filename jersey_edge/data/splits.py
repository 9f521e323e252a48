"""Train/val/test split by track, stratified by label, seeded and cached beside the run.

Splitting by track (not by sequence) keeps near-duplicate clips of one player out of two
splits at once; otherwise test accuracy measures memory, not reading. The cache makes a
resumed run and `evaluate` see exactly the split the model was trained on.

A dataset that comes split (SoccerNet: records with a `source_split`) keeps its own test set:
its `test` folder is our test split, as published, and its `train` folder is divided into our
train and val by the same stratified splitter (val's share of the train folder is
`fractions[1]`). Illegible records (label ILLEGIBLE) are split like a label of their own, so
each split gets its share, then held apart in `Splits.illegible`: train/val/test, which
training, evaluation and export read, hold only records the model has a class for.
"""

import hashlib
import json
import logging
import random
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

from ..core.errors import DatasetError, InputError
from ..core.fileio import atomic_write_text
from .discovery import SequenceRecord
from .soccernet import USED_SPLITS

log = logging.getLogger("jersey_edge")

SPLIT_NAMES = ("train", "val", "test")
CACHE_VERSION = 1
SPLITS = "splits.json"  # beside the checkpoints of a run


@dataclass
class Splits:
    """Legible records per split; `illegible[name]` are the ones of that split whose number
    cannot be read: no class fits them, but the abstain calibration needs them as negatives."""

    train: List[SequenceRecord]
    val: List[SequenceRecord]
    test: List[SequenceRecord]
    illegible: Dict[str, List[SequenceRecord]] = field(
        default_factory=lambda: {name: [] for name in SPLIT_NAMES})

    @classmethod
    def of(cls, parts: Dict[str, List[SequenceRecord]]) -> "Splits":
        """Records per split name, illegible ones held apart."""
        return cls(**{name: [r for r in parts[name] if r.legible] for name in SPLIT_NAMES},
                   illegible={name: [r for r in parts[name] if not r.legible]
                              for name in SPLIT_NAMES})

    def ids(self) -> Dict[str, List[str]]:
        return {name: [r.sequence for r in getattr(self, name) + self.illegible[name]]
                for name in SPLIT_NAMES}


def fingerprint(records: Iterable[SequenceRecord]) -> str:
    """sha256 over sorted (sequence, n_frames): changes when sequences or frames come or go."""
    lines = sorted(f"{r.sequence}\t{len(r.frames)}" for r in records)
    return hashlib.sha256("\n".join(lines).encode("utf-8")).hexdigest()


def split_records(records: Sequence[SequenceRecord], *, seed: int = 0,
                  fractions: Tuple[float, float, float] = (0.8, 0.1, 0.1)) -> Splits:
    """Whole tracks go to one split; each label is split on its own so all splits see it.
    A dataset's own split is kept (see the module docstring)."""
    _check_fractions(fractions)
    given = {r.source_split for r in records}
    if not given - {None}:
        return Splits.of(_stratified(records, seed, fractions))
    if not given <= set(USED_SPLITS):  # train -> our train + val, test -> our test
        raise DatasetError(f"records carry dataset splits {sorted(map(str, given))}: expected "
                           f"only {' and '.join(USED_SPLITS)}, or none at all")
    _, f_val, _ = fractions
    parts = _stratified([r for r in records if r.source_split == "train"], seed,
                        (1.0 - f_val, f_val, 0.0))
    parts["test"] = sorted((r for r in records if r.source_split == "test"),
                           key=lambda r: (r.label, r.sequence))
    return Splits.of(parts)


def _stratified(records: Sequence[SequenceRecord], seed: int,
                fractions: Tuple[float, float, float]) -> Dict[str, List[SequenceRecord]]:
    tracks: Dict[str, List[SequenceRecord]] = defaultdict(list)
    for record in records:
        tracks[record.track].append(record)
    by_label: Dict[int, List[str]] = defaultdict(list)
    for track, members in tracks.items():
        labels = {r.label for r in members}
        if len(labels) > 1:
            raise DatasetError(f"track {track} holds sequences of labels {sorted(labels)}; "
                               "a track must belong to one label folder")
        by_label[members[0].label].append(track)
    parts: Dict[str, List[SequenceRecord]] = {name: [] for name in SPLIT_NAMES}
    for label in sorted(by_label):
        ids = sorted(by_label[label])
        # A per-label RNG: adding a label never reshuffles the others.
        random.Random(f"{seed}/{label}").shuffle(ids)
        n_val, n_test = _val_test_counts(len(ids), fractions)
        chunks = {"val": ids[:n_val], "test": ids[n_val:n_val + n_test],
                  "train": ids[n_val + n_test:]}
        for name, chunk in chunks.items():
            for track in chunk:
                parts[name].extend(tracks[track])
    for part in parts.values():
        part.sort(key=lambda r: (r.label, r.sequence))
    return parts


def _val_test_counts(n: int, fractions: Tuple[float, float, float]) -> Tuple[int, int]:
    """Rounded val/test track counts; train keeps at least one track of every label.

    With 2 tracks val gets one (it drives model selection); from 3 on both val and test do.
    """
    _, f_val, f_test = fractions
    n_val, n_test = int(n * f_val + 0.5), int(n * f_test + 0.5)
    if f_val > 0 and n >= 2:
        n_val = max(n_val, 1)
    if f_test > 0 and n >= 3:
        n_test = max(n_test, 1)
    while n_val + n_test > n - 1:
        if n_test >= n_val:
            n_test -= 1
        else:
            n_val -= 1
    return n_val, n_test


def _check_fractions(fractions: Tuple[float, float, float]) -> None:
    if (len(fractions) != 3 or any(f < 0 for f in fractions) or fractions[0] <= 0
            or abs(sum(fractions) - 1.0) > 1e-6):
        raise InputError(f"split fractions must be three non-negative numbers summing to 1 "
                         f"with a non-zero train share, got {tuple(fractions)}")


def resolve_data_root(given: Optional[Path], recorded: Optional[Path]) -> Path:
    """The dataset folder given, else the one the checkpoint records it was trained on."""
    if given is not None:
        if not Path(given).is_dir():
            raise InputError(f"dataset folder {given}: no such folder")
        return Path(given)
    if recorded is not None and recorded.is_dir():
        return recorded
    where = f"records {recorded}, which does not exist here" if recorded else "records none"
    raise InputError(f"this needs the training dataset (its splits) and the checkpoint "
                     f"{where}: give the dataset folder it was trained on")


def training_splits(records: Sequence[SequenceRecord], run_dir: Path, *,
                    seed: int = 0) -> Splits:
    """A training run's split: reuse the one in the run's splits.json if it was made from
    this very dataset with this seed; otherwise split again, warn loudly, and rewrite the
    file. Only training writes splits.json (see `load_splits`)."""
    cache = Path(run_dir) / SPLITS
    splits, reason = _cached_splits(records, cache, seed)
    if splits is not None:
        return splits
    if reason is not None:
        log.warning("SPLIT CACHE INVALIDATED: %s does not fit this dataset and seed (%s); "
                    "re-splitting, so metrics are not comparable with runs on the old split",
                    cache, reason)
    splits = split_records(records, seed=seed)
    payload = {"version": CACHE_VERSION, "seed": seed, "fingerprint": fingerprint(records),
               **splits.ids()}
    atomic_write_text(cache, json.dumps(payload, indent=1) + "\n")
    return splits


def load_splits(records: Sequence[SequenceRecord], run_dir: Path, *, seed: int = 0) -> Splits:
    """The split the run in `run_dir` was trained on, for export, evaluate and bench: reads
    its splits.json, never writes it. Re-splitting a dataset that changed since training
    could put training tracks into "test", so a file that does not fit is a DatasetError.
    Without one (a checkpoint moved without its run folder) the split is made in memory, as
    training would."""
    cache = Path(run_dir) / SPLITS
    splits, reason = _cached_splits(records, cache, seed)
    if splits is not None:
        return splits
    if reason is not None:
        raise DatasetError(f"{cache} does not fit this dataset and seed ({reason}), so the "
                           "split the run was trained on cannot be rebuilt and its test split "
                           "could hold training tracks; use the dataset the run was trained "
                           "on as it was then, or train again on this one")
    log.warning("no %s beside the checkpoint: splitting this dataset in memory with seed %d; "
                "this is the run's split only if the dataset has not changed since training",
                cache.name, seed)
    return split_records(records, seed=seed)


def _cached_splits(records: Sequence[SequenceRecord], cache: Path,
                   seed: int) -> Tuple[Optional[Splits], Optional[str]]:
    """(the cached split, None) if `cache` fits `records` and `seed`, else (None, why not);
    (None, None) when there is no cache at all."""
    if not cache.is_file():
        return None, None
    try:
        cached = _read_cache(cache)
    except (OSError, ValueError) as exc:
        return None, f"unreadable: {exc}"
    reason = _stale_reason(cached, records, fingerprint(records), seed)
    if reason is not None:
        return None, reason
    splits = _from_ids(cached, records)
    if splits is None:
        return None, "it names sequences that are not in the dataset"
    return splits, None


def _read_cache(cache: Path) -> dict:
    data = json.loads(cache.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or not all(
            isinstance(data.get(name), list) for name in SPLIT_NAMES):
        raise ValueError("missing split lists")
    return data


def _stale_reason(cached: dict, records: Sequence[SequenceRecord], digest: str,
                  seed: int) -> Optional[str]:
    if cached.get("seed") != seed:
        return f"seed {cached.get('seed')} there, {seed} now"
    if cached.get("fingerprint") == digest:
        return None
    old = {s for name in SPLIT_NAMES for s in cached[name]}
    new = {r.sequence for r in records}
    added, removed = len(new - old), len(old - new)
    if added or removed:
        return f"dataset changed: {added} sequence(s) added, {removed} removed"
    return "dataset changed: same sequences, but their frame counts differ"


def _from_ids(cached: dict, records: Sequence[SequenceRecord]) -> Optional[Splits]:
    by_id = {r.sequence: r for r in records}
    try:
        return Splits.of({name: [by_id[s] for s in cached[name]] for name in SPLIT_NAMES})
    except (KeyError, TypeError):  # hand-edited: ids that are not in the dataset
        return None
