"""Recognizer: frames in, jersey number out, on whichever backend serves the artifacts."""

import warnings
from pathlib import Path
from typing import Any, List, Optional, Sequence, Tuple, Union

import numpy as np

from .artifacts import ATTENTION, EMBEDDINGS, FRAMES, MASK, ONES, TENS, Manifest, load_manifest
from .backends import open_backend
from .backends.base import Session
from .errors import DegradedPrecisionWarning, InputError
from .prediction import Prediction, to_prediction
from .preprocess import Frame, preprocess_frames
from .sampling import linspace_indices, pad_sequence


class Recognizer:
    """Loaded encoder + head sessions for one artifacts folder.

    Sessions are created once here, never per call. `predict`/`predict_batch` keep no
    state between calls, so concurrent calls from several threads are safe (each backend
    session is itself thread-safe).
    """

    def __init__(self, manifest: Manifest, encoder: Session, head: Session, *,
                 backend: str, precision: str) -> None:
        self.manifest = manifest
        self.encoder = encoder
        self.head = head
        self.backend = backend
        self.precision = precision
        self.max_frames = manifest.max_frames

    @classmethod
    def load(cls, artifacts: Union[str, Path], backend: str = "auto", precision: str = "fp32",
             *, threads: int = 0, providers: Optional[Sequence[str]] = None) -> "Recognizer":
        """Read and verify manifest.json, then open both graphs on the chosen backend.

        backend: "auto" (TensorRT engines > ONNX Runtime with its best provider),
        "tensorrt" or "onnxruntime". threads: intra-op threads (0 = library default).
        """
        manifest = load_manifest(artifacts)
        _warn_if_degraded(manifest, precision)
        factory = open_backend(backend, manifest, precision, threads=threads, providers=providers)
        encoder = factory.open(manifest, "encoder", precision)
        try:
            head = factory.open(manifest, "head", precision)
        except BaseException:
            encoder.close()
            raise
        return cls(manifest, encoder, head, backend=factory.name, precision=precision)

    @property
    def device(self) -> str:
        return self.encoder.device

    def encode(self, frames: np.ndarray) -> np.ndarray:
        """[N,3,H,W] preprocessed frames -> [N,E] embeddings, chunked to the engine's limit."""
        step = self.encoder.max_batch()
        chunks = [
            self.encoder.run({FRAMES: frames[i:i + step]})[EMBEDDINGS]
            for i in range(0, len(frames), step)
        ]
        return np.concatenate(chunks) if len(chunks) > 1 else chunks[0]

    def classify(self, embeddings: np.ndarray, mask: np.ndarray
                 ) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
        """[B,T,E] embeddings + [B,T] mask -> tens [B,11], ones [B,10], attention [B,T]."""
        step = self.head.max_batch()
        outs = [
            self.head.run({EMBEDDINGS: embeddings[i:i + step], MASK: mask[i:i + step]})
            for i in range(0, len(embeddings), step)
        ]
        return tuple(np.concatenate([o[k] for o in outs]) for k in (TENS, ONES, ATTENTION))  # type: ignore[return-value]

    def preprocess(self, frames: Sequence[Frame]) -> np.ndarray:
        """Sample a sequence to max_frames (as in training) and preprocess those frames."""
        if isinstance(frames, (str, Path, np.ndarray)) or not hasattr(frames, "__len__"):
            raise InputError("a sequence must be a list of frames (paths, PIL images or arrays)")
        if len(frames) == 0:
            raise InputError("a sequence needs at least one frame")
        chosen = [frames[i] for i in linspace_indices(len(frames), self.max_frames)]
        return preprocess_frames(chosen, self.manifest.preprocess)

    def predict(self, frames: Sequence[Frame]) -> Prediction:
        return self.predict_batch([frames])[0]

    def predict_batch(self, sequences: Sequence[Sequence[Frame]]) -> List[Prediction]:
        """Several sequences at once: all their frames go through the encoder together."""
        return self.predict_preprocessed([self.preprocess(seq) for seq in sequences])

    def predict_preprocessed(self, sequences: Sequence[np.ndarray]) -> List[Prediction]:
        """Sequences already preprocessed ([T_i,3,H,W] each, T_i <= max_frames)."""
        if len(sequences) == 0:
            return []
        lengths = [len(s) for s in sequences]
        embeddings = self.encode(np.concatenate(sequences))
        starts = np.cumsum([0] + lengths)
        padded, masks = zip(*(
            pad_sequence(embeddings[a:b], self.max_frames) for a, b in zip(starts, starts[1:])
        ))
        tens, ones, attention = self.classify(np.stack(padded), np.stack(masks))
        return [
            to_prediction(tens[i], ones[i], attention[i], n) for i, n in enumerate(lengths)
        ]

    def stream(self, window: Optional[int] = None, max_tracks: int = 256) -> Any:
        """Per-track streaming: each new frame is encoded once, only the head re-runs."""
        from .stream import TrackStream

        return TrackStream(self, window=window or self.max_frames, max_tracks=max_tracks)

    def close(self) -> None:
        self.encoder.close()
        self.head.close()

    def __enter__(self) -> "Recognizer":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _warn_if_degraded(manifest: Manifest, precision: str) -> None:
    """Once per folder and precision: this precision missed its target at export."""
    pairs = (manifest.extra.get("degraded") or {}).get(precision)
    key = (str(manifest.root.resolve()), precision)
    if not pairs or key in _WARNED:
        return
    _WARNED.add(key)
    warnings.warn(
        f"{manifest.root}: {precision} was exported with --accept-degraded and misses its "
        f"accuracy target ({', '.join(pairs)}); see parity in manifest.json",
        DegradedPrecisionWarning, stacklevel=3)


_WARNED: set = set()
