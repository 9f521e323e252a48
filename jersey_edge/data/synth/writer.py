"""Putting the dataset on disk: folder checks, parallel rendering, atomic tracks, synth.json.

Each track is written into a hidden temporary folder and renamed into place, so a track is
either complete or absent. A marker file exists while a run is in progress and synth.json is
written last: a folder with the marker is an interrupted run and is cleaned on the next run;
a non-empty folder with neither is someone else's and is never touched.
"""

import json
import multiprocessing
import numbers
import os
import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
from tqdm import tqdm

from jersey_edge.core.errors import DatasetError, InputError
from jersey_edge.core.fileio import atomic_write_text

from .config import DEFAULT_SEQUENCES, SynthConfig, resolve_labels
from .style import FONT_FILES
from .track import TrackSpec, plan_tracks, render_track

MAIN, HELDOUT = "main", "heldout"
GENERATOR = "jersey-edge synth"
# 3: block numerals, shadows, two tones, distractors, interlace, floodlights, box jitter
GENERATOR_VERSION = 3
MANIFEST = "synth.json"
IN_PROGRESS = ".synth-in-progress"
ANCHOR = "anchor.jpg"
# Per-frame legibility beside each sequence's frames: training weights its frame losses and
# attention with it (train/legibility.py); real datasets have none, and need none.
LEGIBILITY = "legibility.json"
HARD = 0.1  # legibility below which a frame is, by eye, mostly unreadable


@dataclass(frozen=True)
class SynthSummary:
    out: Path
    n_sequences: int
    n_heldout_sequences: int
    n_tracks: int
    n_frames: int
    labels: Tuple[int, ...]
    heldout: Tuple[int, ...]
    seconds: float


@dataclass(frozen=True)
class _Written:
    spec: TrackSpec
    frames: Tuple[int, ...]  # frame count of each sequence
    legibility: Tuple[float, ...]  # every frame's score, all sequences in order
    anchors: Tuple[float, ...]  # each sequence's anchor score


def frame_name(index: int) -> str:
    return f"frame_{index:03d}.jpg"


def _write_track(job: Tuple[TrackSpec, SynthConfig, str]) -> _Written:
    """Render one track and move it into place in one rename (runs in worker processes)."""
    spec, config, out = job
    final = Path(out) / spec.reldir
    tmp = final.parent / f".{final.name}.tmp"
    final.parent.mkdir(parents=True, exist_ok=True)
    counts: List[int] = []
    scores: List[float] = []
    anchors: List[float] = []
    for i, sequence in enumerate(render_track(spec, config)):
        folder = tmp / f"s{i}"
        folder.mkdir(parents=True)
        for k, data in enumerate(sequence.frames):
            (folder / frame_name(k)).write_bytes(data)
        (folder / ANCHOR).write_bytes(sequence.frames[sequence.anchor])
        (folder / LEGIBILITY).write_text(
            json.dumps({"frames": [round(x, 4) for x in sequence.legibility]}) + "\n",
            encoding="utf-8")
        counts.append(len(sequence.frames))
        scores += sequence.legibility
        anchors.append(sequence.legibility[sequence.anchor])
    os.replace(tmp, final)
    return _Written(spec, tuple(counts), tuple(scores), tuple(anchors))


def _is_ours(name: str) -> bool:
    return name in (MANIFEST, IN_PROGRESS, HELDOUT) or (name.isdigit() and str(int(name)) == name)


def _prepare(out: Path) -> None:
    """Make `out` an empty folder marked in-progress, cleaning a previous synth output."""
    if out.exists() and not out.is_dir():
        raise InputError(f"output {out} exists and is not a folder; choose another output folder")
    entries = sorted(os.listdir(out)) if out.is_dir() else []
    if entries:
        if MANIFEST not in entries and IN_PROGRESS not in entries:
            raise DatasetError(
                f"output {out} is not empty and is not a synthetic dataset (no {MANIFEST}); "
                "choose an empty or new folder"
            )
        foreign = [name for name in entries if not _is_ours(name)]
        if foreign:
            raise DatasetError(
                f"output {out} holds a synthetic dataset but also {foreign[:3]}; refusing to "
                "delete them: move them away or choose another folder"
            )
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / IN_PROGRESS, "jersey-edge synth is writing here; rerun to redo\n")
    if MANIFEST in entries:
        (out / MANIFEST).unlink()
    for name in entries:
        if name not in (MANIFEST, IN_PROGRESS):
            shutil.rmtree(out / name)


def _run(
    jobs: List[Tuple[TrackSpec, SynthConfig, str]], workers: int, progress: bool
) -> List[_Written]:
    """Render all tracks, in this process or a spawn pool (safe beside threaded libraries)."""
    total = sum(job[0].n_sequences for job in jobs)
    done: List[_Written] = []
    pool = multiprocessing.get_context("spawn").Pool(workers) if workers > 1 else None
    with tqdm(total=total, unit="seq", desc="synth", disable=not progress) as bar:
        try:
            results = pool.imap_unordered(_write_track, jobs) if pool else map(_write_track, jobs)
            for written in results:
                done.append(written)
                bar.update(len(written.frames))
        finally:
            if pool:
                pool.terminate()
                pool.join()
    return sorted(done, key=lambda w: w.spec.index)


def _split_counts(written: Sequence[_Written], split: str, labels: Sequence[int]) -> Dict:
    mine = [w for w in written if w.spec.split == split]
    per_label = {str(label): 0 for label in labels}
    for w in mine:
        per_label[str(w.spec.label)] += len(w.frames)
    return {
        "root": "." if split == MAIN else HELDOUT,
        "tracks": len(mine),
        "sequences": sum(len(w.frames) for w in mine),
        "frames": sum(sum(w.frames) for w in mine),
        "sequences_per_label": per_label,
    }


def _whole(value: object) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _legibility(written: Sequence[_Written]) -> Dict:
    """How hard the main pool came out, by the generator's own score (not ground truth)."""
    frames = np.array([x for w in written if w.spec.split == MAIN for x in w.legibility])
    anchors = np.array([x for w in written if w.spec.split == MAIN for x in w.anchors])

    def quartiles(values: np.ndarray) -> List[float]:
        return [round(float(q), 4) for q in np.quantile(values, [0.25, 0.5, 0.75])]

    return {
        "score": "per frame: least-visible digit fraction x camera quality, 0-1",
        "frame_quartiles": quartiles(frames),
        "anchor_quartiles": quartiles(anchors),
        f"frames_below_{HARD}": round(float(np.mean(frames < HARD)), 4),
        f"anchors_below_{HARD}": round(float(np.mean(anchors < HARD)), 4),
    }


def _manifest(
    written: Sequence[_Written],
    seed: int,
    config: SynthConfig,
    main: Sequence[int],
    held: Sequence[int],
) -> Dict:
    splits = {
        MAIN: _split_counts(written, MAIN, main),
        HELDOUT: _split_counts(written, HELDOUT, held),
    }
    return {
        "generator": GENERATOR,
        "version": GENERATOR_VERSION,
        "seed": seed,
        "config": asdict(config),
        "fonts": sorted(set(FONT_FILES)),
        "labels": list(main),
        "heldout": list(held),
        "layout": f"[{HELDOUT}/]<label>/<track>/<sequence>/{frame_name(0)}... + {ANCHOR}",
        "counts": {
            "sequences": splits[MAIN]["sequences"],
            "heldout_sequences": splits[HELDOUT]["sequences"],
            "tracks": len(written),
            "frames": splits[MAIN]["frames"] + splits[HELDOUT]["frames"],
        },
        "splits": splits,
        "legibility": _legibility(written),
    }


def synthesize(
    out: Path,
    *,
    sequences: int = DEFAULT_SEQUENCES,
    seed: int = 0,
    labels: Optional[Sequence[int]] = None,
    heldout: Optional[Sequence[int]] = None,
    workers: int = 0,
    progress: bool = True,
    config: Optional[SynthConfig] = None,
) -> SynthSummary:
    """Render a synthetic jersey-number dataset into `out` (see the package docstring).

    `sequences` counts the main pool only; held-out labels get about the same number of
    sequences per label on top, under out/heldout/. `workers=0` uses every CPU; the files are
    byte-identical whatever the worker count.
    """
    config = config or SynthConfig()
    config.validate()
    if not _whole(sequences) or sequences < 1:
        raise InputError(f"sequences must be a whole number >= 1, got {sequences!r}")
    if not _whole(seed) or seed < 0:
        raise InputError(f"seed must be a whole number >= 0, got {seed!r}")
    if not _whole(workers) or workers < 0:
        raise InputError(f"workers must be >= 0 (0 = one per CPU), got {workers}")
    seed, sequences, workers = int(seed), int(sequences), int(workers)
    main, held = resolve_labels(labels, heldout)
    out = Path(out)
    started = time.perf_counter()
    _prepare(out)
    tracks = plan_tracks(sequences, main, held, seed, config)
    workers = min(workers or os.cpu_count() or 1, len(tracks))
    written = _run([(t, config, str(out)) for t in tracks], workers, progress)
    manifest = _manifest(written, seed, config, main, held)
    atomic_write_text(out / MANIFEST, json.dumps(manifest, indent=2) + "\n")
    (out / IN_PROGRESS).unlink()
    return SynthSummary(
        out=out,
        n_sequences=manifest["counts"]["sequences"],
        n_heldout_sequences=manifest["counts"]["heldout_sequences"],
        n_tracks=len(written),
        n_frames=manifest["counts"]["frames"],
        labels=main,
        heldout=held,
        seconds=time.perf_counter() - started,
    )
