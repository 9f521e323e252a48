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

import io
import zipfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Dict, Sequence

import numpy as np

from ..core.fileio import atomic_path
from ..core.labels import number_to_digits
from ..core.preprocess import PreprocessConfig
from ..core.two_stage import TwoStage, pad_sequences
from ..data.discovery import SequenceRecord
from .selection import golden_lengths, interleave_by_label, truncated_indices
from .sequences import sequence_frames

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
        sequence_frames(r, preprocess, max_frames, truncated_indices(len(r.frames), n, max_frames))
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
