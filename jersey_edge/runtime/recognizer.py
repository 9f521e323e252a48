"""Recognizer: frames in, jersey number out, on whichever backend serves the artifacts."""

import contextlib
import numbers
import os
import threading
import warnings
from collections.abc import Sequence as SequenceABC
from pathlib import Path
from typing import Iterator, List, Optional, Sequence, Union

import numpy as np

from ..core.crops import CropRule
from ..core.errors import DegradedPrecisionWarning, InputError
from ..core.preprocess import (
    Frame,
    check_channel_order,
    linspace_indices,
    preprocess_sequence,
)
from ..core.two_stage import Outputs, run_two_stage
from .artifacts import ATTENTION, EMBEDDINGS, FRAMES, MASK, ONES, TENS
from .backends import (
    BackendOptions,
    OnnxRuntimeOptions,
    OpenVinoOptions,
    TensorRTOptions,
    open_sessions,
)
from .backends.base import Session
from .manifest import Manifest, load_manifest
from .prediction import Prediction, require_finite, to_prediction
from .stream import TrackStream

# Frames preprocessed and encoded together by `predict_batch`: 16 sequences of 16 frames,
# the bench's largest batch; larger batches gain no throughput and the backend's activation
# memory grows with them (1,000 sequences in one call took 1.6 GB even at 64x32 frames).
BATCH_FRAMES = 256


class Recognizer:
    """Loaded encoder + head sessions for one artifacts folder.

    Sessions are created once here, never per call. `predict`/`predict_batch` keep no
    state between calls, so concurrent calls from several threads are safe (each backend
    session is itself thread-safe). After `close`, encoding, predicting and streaming raise
    InputError.

    channel_order: how the colour channels of array frames are ordered, "rgb" or "bgr"
    (OpenCV, Ultralytics and supervision); paths and PIL images are RGB whatever it says.
    abstain_threshold: predictions less confident than this have number None; None takes
    the threshold export calibrated into the manifest (none there: never abstain), 0.0
    never abstains.
    """

    def __init__(self, manifest: Manifest, encoder: Session, head: Session, *,
                 backend: str, precision: str, channel_order: str = "rgb",
                 abstain_threshold: Optional[float] = None) -> None:
        self.manifest = manifest
        self.encoder = encoder
        self.head = head
        self.backend = backend
        self.precision = precision
        self.max_frames = manifest.max_frames
        self.channel_order = check_channel_order(channel_order)
        self.abstain_threshold = resolve_abstain_threshold(manifest, abstain_threshold)
        self._closed = False
        self._state = threading.Condition()
        self._running = 0  # encode/classify calls in flight: close waits for them

    @classmethod
    def load(cls, artifacts: Union[str, Path], backend: str = "auto", precision: str = "fp32",
             *, threads: int = 0, providers: Optional[Sequence[str]] = None,
             channel_order: str = "rgb", abstain_threshold: Optional[float] = None,
             warmup: bool = False, device: int = 0,
             inference_precision: str = "f32") -> "Recognizer":
        """Read and verify manifest.json, then open both graphs on the chosen backend.

        backend: "auto" (TensorRT engines, ONNX Runtime on a GPU, then the faster CPU backend
        for the precision: `backends.auto_order`), "tensorrt", "onnxruntime" or "openvino".
        threads: the encoder's threads (0 = library default).
        channel_order, abstain_threshold: see the class. warmup: run `warm_up` before
        returning, so the first real frame is not the slow one. device: the CUDA device
        index (0: the first GPU CUDA_VISIBLE_DEVICES leaves) that the TensorRT engines and
        ONNX Runtime's CUDA and TensorRT providers run on; the CPU ignores it.
        inference_precision: OpenVINO's arithmetic for the encoder, "f32" (default) or
        "bf16" (CPUs with native BF16 only; with backend="openvino").
        """
        manifest = load_manifest(artifacts)
        # Checked before the (slow) graphs open, so a typo costs nothing.
        check_channel_order(channel_order)
        device = _device_index(device)
        threshold = resolve_abstain_threshold(manifest, abstain_threshold)
        _warn_if_degraded(manifest, precision)
        if inference_precision != "f32" and backend != "openvino":
            raise InputError(f"inference precision {inference_precision!r} is an OpenVINO "
                             "option: load with backend=\"openvino\"")
        options = BackendOptions(
            onnxruntime=OnnxRuntimeOptions(threads=threads, device_id=device,
                                           providers=tuple(providers) if providers else None),
            tensorrt=TensorRTOptions(device_id=device),
            openvino=OpenVinoOptions(threads=threads, inference_precision=inference_precision))
        chosen, encoder, head = open_sessions(backend, manifest, precision, options)
        recognizer = cls(manifest, encoder, head, backend=chosen.name, precision=precision,
                         channel_order=channel_order, abstain_threshold=threshold)
        if warmup:
            try:
                recognizer.warm_up()
            except BaseException:
                recognizer.close()
                raise
        return recognizer

    def warm_up(self) -> None:
        """One dummy sequence of one frame at the input size through encoder and head: the
        backend's lazy start (memory arenas, kernel choice, GPU contexts) is paid here, not
        by the first real frame. Keeps nothing: no stream or cache sees it."""
        cfg = self.manifest.preprocess
        run_two_stage(self, np.zeros((1, 3, cfg.height, cfg.width), np.float32), [1],
                      self.max_frames)

    @property
    def device(self) -> str:
        return self.encoder.device

    def encode(self, frames: np.ndarray) -> np.ndarray:
        """[N,3,H,W] preprocessed frames -> [N,E] embeddings, chunked to the engine's limit.

        Non-finite embeddings (a broken graph or engine) are an ArtifactError here, before
        any head turns them into confident-looking numbers.
        """
        with self._in_use():
            step = self.encoder.max_batch()
            chunks = [
                self.encoder.run({FRAMES: frames[i:i + step]})[EMBEDDINGS]
                for i in range(0, len(frames), step)
            ]
        return require_finite(np.concatenate(chunks) if len(chunks) > 1 else chunks[0],
                              "embeddings")

    def classify(self, embeddings: np.ndarray, mask: np.ndarray) -> Outputs:
        """[B,T,E] embeddings + [B,T] mask -> tens [B,11], ones [B,10], attention [B,T]."""
        with self._in_use():
            step = self.head.max_batch()
            outs = [
                self.head.run({EMBEDDINGS: embeddings[i:i + step], MASK: mask[i:i + step]})
                for i in range(0, len(embeddings), step)
            ]
        return tuple(np.concatenate([o[k] for o in outs]) for k in (TENS, ONES, ATTENTION))  # type: ignore[return-value]

    def preprocess(self, frames: Sequence[Frame]) -> np.ndarray:
        """Sample a sequence to max_frames (as in training) and preprocess those frames."""
        self._require_open()
        _require_ordered(frames, "a sequence", "frames (paths, PIL images or arrays)")
        if len(frames) == 0:
            raise InputError("a sequence needs at least one frame")
        return preprocess_sequence(frames, self.manifest.preprocess, self.max_frames,
                                   self.channel_order)

    def predict(self, frames: Sequence[Frame]) -> Prediction:
        return self.predict_batch([frames])[0]

    def predict_batch(self, sequences: Sequence[Sequence[Frame]]) -> List[Prediction]:
        """Several sequences at once: their frames go through the encoder together, up to
        BATCH_FRAMES frames a call, so memory stays bounded however many sequences come."""
        self._require_open()
        _require_ordered(sequences, "a batch", "sequences (each a list of frames)")
        chunks: List[List[Sequence[Frame]]] = [[]]
        frames = 0
        for sequence in sequences:
            size = min(_length(sequence), self.max_frames)
            if chunks[-1] and frames + size > BATCH_FRAMES:
                chunks.append([])
                frames = 0
            chunks[-1].append(sequence)
            frames += size
        return [prediction for chunk in chunks for prediction in
                self.predict_preprocessed([self.preprocess(s) for s in chunk])]

    def predict_preprocessed(self, sequences: Sequence[np.ndarray]) -> List[Prediction]:
        """Sequences already preprocessed ([T_i,3,H,W] each); longer ones are sampled to
        max_frames as `preprocess` samples frames."""
        self._require_open()
        _require_ordered(sequences, "preprocessed sequences", "[T,3,H,W] arrays")
        if len(sequences) == 0:
            return []
        sequences = [self._sampled(s) for s in sequences]
        lengths = [len(s) for s in sequences]
        tens, ones, attention = run_two_stage(self, np.concatenate(sequences), lengths,
                                              self.max_frames)
        return [
            to_prediction(tens[i], ones[i], attention[i], n, self.abstain_threshold)
            for i, n in enumerate(lengths)
        ]

    def _sampled(self, frames: np.ndarray) -> np.ndarray:
        """One preprocessed sequence, checked, and spread evenly over max_frames if longer."""
        cfg = self.manifest.preprocess
        expected = (3, cfg.height, cfg.width)
        if not isinstance(frames, np.ndarray) or frames.ndim != 4 or frames.shape[1:] != expected:
            got = frames.shape if isinstance(frames, np.ndarray) else type(frames).__name__
            raise InputError(f"a preprocessed sequence must be a [T,{','.join(map(str, expected))}]"
                             f" array (see Recognizer.preprocess), got {got}")
        if len(frames) == 0:
            raise InputError("a preprocessed sequence needs at least one frame")
        return frames[linspace_indices(len(frames), self.max_frames)]

    def stream(self, window: Optional[int] = None, max_tracks: int = 256, *,
               channel_order: Optional[str] = None, crop_rule: Optional[CropRule] = None,
               max_age: Optional[int] = None) -> TrackStream:
        """Per-track streaming: each new frame is encoded once, only the head re-runs.

        channel_order: of the stream's array frames (None: this recognizer's); crop_rule:
        how `update_from_detections` cuts boxes (None: the training crops' rule); max_age:
        updates after which a silent track's frames are forgotten (see TrackStream).
        """
        self._require_open()
        return TrackStream(self, window=self.max_frames if window is None else window,
                           max_tracks=max_tracks, channel_order=channel_order,
                           crop_rule=crop_rule, max_age=max_age)

    def _require_open(self) -> None:
        if self._closed:
            raise InputError("this recognizer is closed: load the artifacts again to use them")

    @contextlib.contextmanager
    def _in_use(self) -> Iterator[None]:
        """A session call: refused once closed, and waited for by `close`, so a close from
        another thread never pulls a session from under a running call."""
        with self._state:
            self._require_open()
            self._running += 1
        try:
            yield
        finally:
            with self._state:
                self._running -= 1
                self._state.notify_all()

    def close(self) -> None:
        """Release both sessions once the calls in flight have finished. Idempotent;
        afterwards every method raises InputError."""
        with self._state:
            if self._closed:
                return
            self._closed = True
            while self._running:
                self._state.wait()
        self.encoder.close()
        self.head.close()

    def __enter__(self) -> "Recognizer":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _length(sequence: object) -> int:
    """Frames in a sequence, for chunking; what is no sequence is refused by `preprocess`."""
    try:
        return len(sequence)  # type: ignore[arg-type]
    except TypeError:
        return 1


def resolve_abstain_threshold(manifest: Manifest, override: Optional[float]) -> float:
    """The confidence below which predictions abstain: `override` when given (0.0: never),
    else the manifest's calibrated threshold (ArtifactError if malformed; none: never)."""
    if override is None:
        section = manifest.abstain
        return 0.0 if section is None else float(section.threshold)
    if (isinstance(override, bool) or not isinstance(override, numbers.Real)
            or not 0.0 <= override <= 1.0):
        raise InputError(f"abstain_threshold must be a confidence from 0 to 1 (0 never "
                         f"abstains) or None for the manifest's, got {override!r}")
    return float(override)


def _device_index(device: object) -> int:
    """`Recognizer.load`'s device: a CUDA device index, 0 or more; InputError otherwise."""
    if isinstance(device, bool) or not isinstance(device, numbers.Integral) or device < 0:
        raise InputError(f"device must be a CUDA device index (0 for the first GPU), got "
                         f"{device!r}")
    return int(device)


def _require_ordered(items: object, what: str, of: str) -> None:
    """Sequences are sampled by position in time: refuse paths, arrays, sets, dicts, iterators."""
    if isinstance(items, (str, os.PathLike)):
        raise InputError(f"{what} must be a list or tuple of {of}, got the path {str(items)!r}; "
                         "read a folder's frames with "
                         "jersey_edge.core.sequence_folders.sequence_frames(folder)")
    if not isinstance(items, SequenceABC):
        raise InputError(f"{what} must be a list or tuple of {of}, got {type(items).__name__}")


def _warn_if_degraded(manifest: Manifest, precision: str) -> None:
    """Once per folder and precision: this precision missed its target at export."""
    pairs = manifest.degraded.get(precision)
    key = (str(manifest.root.resolve()), precision)
    if not pairs or key in _WARNED:
        return
    _WARNED.add(key)
    warnings.warn(
        f"{manifest.root}: {precision} was exported with --accept-degraded and misses its "
        f"accuracy target ({', '.join(pairs)}); see parity in manifest.json",
        DegradedPrecisionWarning, stacklevel=3)


_WARNED: set = set()
