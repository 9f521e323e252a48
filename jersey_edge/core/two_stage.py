"""The model as two stages behind numpy: a per-frame encoder, then the temporal head.

Everything that runs sequences through the model — the runtime's `Recognizer`, export's
golden outputs and verification, the benchmark, the PyTorch reference — goes through
`run_two_stage`: only real frames are encoded, and the head sees their embeddings
right-padded with zeros to max_frames, with the mask saying which slots are real.
"""

from typing import List, Protocol, Sequence, Tuple

import numpy as np

Logits = Tuple[np.ndarray, np.ndarray]  # tens [S,11], ones [S,10]
Outputs = Tuple[np.ndarray, np.ndarray, np.ndarray]  # tens, ones, attention [S,T]


class TwoStage(Protocol):
    """Encoder and head of one model on one backend; float32 numpy in and out."""

    def encode(self, frames: np.ndarray) -> np.ndarray:
        """[N,3,H,W] preprocessed frames -> [N,E] embeddings."""

    def classify(self, embeddings: np.ndarray, mask: np.ndarray) -> Outputs:
        """[B,T,E] embeddings + [B,T] mask -> tens [B,11], ones [B,10], attention [B,T]."""


def pad_sequences(rows: np.ndarray, lengths: Sequence[int],
                  max_frames: int) -> Tuple[np.ndarray, np.ndarray]:
    """Concatenated per-frame rows [sum T_i,...] (embeddings or frames) -> [B,max_frames,...]
    right-padded with zeros, and the [B,max_frames] mask (1 = real frame).

    The mask is float32 rather than bool: every backend and precision (ONNX Runtime,
    TensorRT 8.5-11, FP16 graphs) takes a float input the same way.
    """
    counts = np.asarray(lengths, dtype=np.int64)
    if counts.sum() != len(rows) or (counts > max_frames).any():
        raise ValueError(f"lengths {counts.tolist()} do not split {len(rows)} rows into "
                         f"sequences of at most {max_frames}")
    mask = (np.arange(max_frames)[None, :] < counts[:, None]).astype(np.float32)
    padded = np.zeros(mask.shape + rows.shape[1:], dtype=rows.dtype)
    padded[mask > 0.5] = rows  # row-major: sequence by sequence, frames in order
    return padded, mask


def run_two_stage(model: TwoStage, frames: np.ndarray, lengths: Sequence[int],
                  max_frames: int) -> Outputs:
    """Sequences given as their concatenated frames [sum T_i,3,H,W] and lengths T_i."""
    embeddings, mask = pad_sequences(model.encode(frames), lengths, max_frames)
    return model.classify(embeddings, mask)


def concat_logits(parts: List[Logits]) -> Logits:
    """Logits of consecutive chunks of sequences, joined; empty arrays for no chunks."""
    if not parts:
        return np.zeros((0, 11), np.float32), np.zeros((0, 10), np.float32)
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
