"""golden.npz: preprocessed test sequences + the PyTorch FP32 outputs for them.

It lets a device without torch (a Jetson) verify its engines against the model that was
exported. Arrays (B sequences, T = max_frames):
  frames [B,T,3,H,W] float32 (zero right-padded), mask [B,T] float32 (1 = real frame),
  lengths [B], labels [B] (jersey numbers), tens [B] / ones [B] (digit targets),
  embeddings [B,T,E] (the encoder's, zero right-padded: the head's input),
  tens_logits [B,11], ones_logits [B,10], attention [B,T] (all PyTorch FP32),
  sequences [B] (dataset-relative sequence ids).
The embeddings let each part be checked on its own (the Polygraphy files, see
`polygraphy_golden`).
Lengths are spread from T down to 1 so padding is exercised. The file is written with fixed
zip timestamps, so the same checkpoint and test split give the same bytes.
"""

import base64
import io
import json
import random
import zipfile
from collections import defaultdict
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Dict, List, Sequence, Tuple

import numpy as np

from ..core.digits import number_to_digits
from ..core.fileio import atomic_path, atomic_write_text
from ..core.preprocess import PreprocessConfig, linspace_indices, preprocess_frames
from ..core.two_stage import TwoStage, pad_sequences
from ..data.discovery import SequenceRecord
from ..runtime.artifacts import (
    ATTENTION,
    EMBEDDINGS,
    FRAMES,
    MASK,
    ONES,
    PARTS,
    TENS,
    polygraphy_inputs_name,
    polygraphy_outputs_name,
)


def _by_label(records: Sequence[SequenceRecord], seed: int,
              purpose: str) -> Dict[int, List[SequenceRecord]]:
    """Label -> its records in a seeded order (independent of the order they came in)."""
    by_label: Dict[int, List[SequenceRecord]] = defaultdict(list)
    for record in sorted(records, key=lambda r: r.sequence):
        by_label[record.label].append(record)
    for label, members in by_label.items():
        random.Random(f"{purpose}/{seed}/{label}").shuffle(members)
    return by_label


def interleave_by_label(records: Sequence[SequenceRecord], seed: int,
                        purpose: str) -> List[SequenceRecord]:
    """All records, labels visited round-robin, each label's sequences in a seeded order.

    `purpose` salts the seed so calibration and golden picks are independent of each other.
    """
    by_label = _by_label(records, seed, purpose)
    rounds = max((len(m) for m in by_label.values()), default=0)
    return [by_label[label][i] for i in range(rounds) for label in sorted(by_label)
            if i < len(by_label[label])]


def frames_by_label(records: Sequence[SequenceRecord], size: int, seed: int,
                    purpose: str) -> List[Path]:
    """At most `size` frames spread over labels first, then over each label's sequences.

    Every label gets the same share (a label with fewer frames gives all it has and the
    others make up the rest), whatever its number of sequences; within a label its share is
    spread over its sequences by `spread_frames`. Labels then take turns, in a seeded order,
    so a short choice still covers as many labels as it can. Fewer frames come back only
    when there are fewer in all; same records + size + seed -> same frames, same order.
    """
    by_label = _by_label(records, seed, purpose)
    labels = sorted(by_label)
    random.Random(f"{purpose}/{seed}/labels").shuffle(labels)
    totals = [sum(len(r.frames) for r in by_label[label]) for label in labels]
    share = _quota(totals, size)
    picks = [spread_frames([r.frames for r in by_label[label]], min(total, share))
             for label, total in zip(labels, totals)]
    return _take_turns(picks)[:size]


def spread_frames(groups: Sequence[Sequence[Path]], size: int) -> List[Path]:
    """At most `size` frames, every group (sequence, folder) giving its k-th frame before any
    gives its (k+1)-th; a group's frames are spread over it by linspace. Each group gives at
    most the smallest quota that lets all of them together reach `size`, so short groups
    never starve the choice; fewer frames come back only when there are fewer in all."""
    quota = _quota([len(g) for g in groups], size)
    picks = [[g[i] for i in linspace_indices(len(g), quota)] for g in groups]
    return _take_turns(picks)[:size]


def _quota(lengths: Sequence[int], size: int) -> int:
    """The smallest per-group count that lets groups of these lengths give `size` in all
    (or everything they have)."""
    quota = -(-size // max(len(lengths), 1))  # ceil
    while sum(min(n, quota) for n in lengths) < size and quota < max(lengths, default=0):
        quota += 1
    return quota


def _take_turns(picks: Sequence[Sequence[Path]]) -> List[Path]:
    """Every list's k-th item before any list's (k+1)-th."""
    rounds = max((len(p) for p in picks), default=0)
    return [pick[k] for k in range(rounds) for pick in picks if k < len(pick)]


def golden_lengths(count: int, max_frames: int) -> List[int]:
    """Sequence lengths from max_frames down to 1, spread evenly (padding gets exercised)."""
    if count <= 0:
        return []
    return [int(v) for v in np.rint(np.linspace(max_frames, 1, count))]


def truncated_indices(num_frames: int, length: int, max_frames: int) -> List[int]:
    """Frames of a track seen for only `length` frames, then sampled as the runtime samples.

    The first `length` frames stand in for a shorter sequence; linspace then picks at most
    max_frames of them, exactly as Recognizer.preprocess would.
    """
    kept = min(num_frames, length)
    return linspace_indices(kept, max_frames)


_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)


@dataclass
class Golden:
    frames: np.ndarray
    mask: np.ndarray
    lengths: np.ndarray
    labels: np.ndarray
    tens: np.ndarray
    ones: np.ndarray
    embeddings: np.ndarray
    tens_logits: np.ndarray
    ones_logits: np.ndarray
    attention: np.ndarray
    sequences: np.ndarray

    def arrays(self) -> Dict[str, np.ndarray]:
        return asdict(self)


def build_golden(records: Sequence[SequenceRecord], reference: TwoStage, *,
                 preprocess: PreprocessConfig, max_frames: int, size: int, seed: int) -> Golden:
    chosen = interleave_by_label(records, seed, "golden")[:size]
    sequences = [
        preprocess_frames([r.frames[i] for i in truncated_indices(len(r.frames), n, max_frames)],
                          preprocess)
        for r, n in zip(chosen, golden_lengths(len(chosen), max_frames))
    ]
    lengths = [len(s) for s in sequences]
    # Only real frames go through the encoder; the head sees them padded, as at run time.
    embeddings, mask = pad_sequences(reference.encode(np.concatenate(sequences)), lengths,
                                      max_frames)
    tens_logits, ones_logits, attention = reference.classify(embeddings, mask)
    frames, _ = pad_sequences(np.concatenate(sequences), lengths, max_frames)
    digits = np.array([number_to_digits(r.label) for r in chosen], dtype=np.int64).reshape(-1, 2)
    return Golden(
        frames=frames, mask=mask, lengths=np.array(lengths, dtype=np.int64),
        labels=np.array([r.label for r in chosen], dtype=np.int64),
        tens=digits[:, 0], ones=digits[:, 1], embeddings=embeddings,
        tens_logits=tens_logits, ones_logits=ones_logits, attention=attention,
        sequences=np.array([r.sequence for r in chosen], dtype=str),
    )


def write_golden(golden: Golden, target: Path) -> None:
    write_npz(target, golden.arrays())


def write_npz(target: Path, arrays: Dict[str, np.ndarray]) -> None:
    """Like np.savez_compressed, but reproducible: entries in name order, fixed timestamps.

    (np.savez stamps each entry with the current time, so identical arrays would hash
    differently on every export.) np.load reads the result as usual, without pickle.
    """
    with atomic_path(target) as tmp, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
        for name in sorted(arrays):
            buffer = io.BytesIO()
            np.lib.format.write_array(buffer, np.asarray(arrays[name]), allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=_ZIP_EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, buffer.getvalue())


# Enough to check an engine; base64 JSON of frames is large (about 4 MB a sequence at
# 160x96 and 16 frames), and the folder is copied to the device.
POLYGRAPHY_SEQUENCES = 4
RUNNER = "pytorch-fp32"  # the runner name Polygraphy shows for the stored outputs
FILE_NAMES = tuple(name(part) for part in PARTS
                   for name in (polygraphy_inputs_name, polygraphy_outputs_name))

Feed = Dict[str, np.ndarray]


def part_iterations(golden: Golden, part: str) -> List[Tuple[Feed, Feed]]:
    """(inputs, PyTorch outputs) of `part` per golden sequence (the first
    POLYGRAPHY_SEQUENCES), in graph input/output order."""
    lengths = golden.lengths.tolist()[:POLYGRAPHY_SEQUENCES]
    if part == "encoder":
        return [({FRAMES: golden.frames[i, :n]}, {EMBEDDINGS: golden.embeddings[i, :n]})
                for i, n in enumerate(lengths)]
    batches_of_one = [slice(i, i + 1) for i in range(len(lengths))]
    return [({EMBEDDINGS: golden.embeddings[b], MASK: golden.mask[b]},
             {TENS: golden.tens_logits[b], ONES: golden.ones_logits[b],
              ATTENTION: golden.attention[b]})
            for b in batches_of_one]


def write_polygraphy_golden(golden: Golden, folder: Path) -> None:
    """Both parts' inputs and outputs files (FILE_NAMES) in `folder`, each atomically."""
    for part in PARTS:
        iterations = part_iterations(golden, part)
        inputs = [_feed(feed) for feed, _ in iterations]
        results = {"lst": [[RUNNER, [_iteration(outputs) for _, outputs in iterations]]],
                   "polygraphy_class": "RunResults"}
        for name, value in ((polygraphy_inputs_name(part), inputs),
                            (polygraphy_outputs_name(part), results)):
            atomic_write_text(Path(folder) / name, json.dumps(value) + "\n")


def _array(array: np.ndarray) -> Dict[str, str]:
    buffer = io.BytesIO()
    np.save(buffer, np.ascontiguousarray(array), allow_pickle=False)
    return {"array": base64.b64encode(buffer.getvalue()).decode("ascii"),
            "polygraphy_class": "ndarray"}


def _feed(feed: Feed) -> Dict[str, Any]:
    return {name: _array(value) for name, value in feed.items()}


def _iteration(outputs: Feed) -> Dict[str, Any]:
    # runtime: Polygraphy's seconds per iteration, which stored outputs do not have.
    return {"outputs": _feed(outputs), "runtime": None, "runner_name": RUNNER,
            "polygraphy_class": "IterationResult"}
