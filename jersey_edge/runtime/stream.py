"""Streaming recognition for a tracker: one encoder pass per new frame per track."""

import threading
from collections import OrderedDict, deque
from typing import TYPE_CHECKING, Deque, Dict, Hashable, Mapping

import numpy as np

from ..core.errors import InputError
from ..core.preprocess import Frame, preprocess_frames
from ..core.two_stage import pad_sequences
from .prediction import Prediction, to_prediction

if TYPE_CHECKING:
    from .recognizer import Recognizer


class TrackStream:
    """Keeps the last `window` frame embeddings of each track (at most `max_tracks`, LRU).

    `update` gives at every step the same answer as `Recognizer.predict` on the track's
    last `window` frames, at the cost of one frame through the encoder instead of all.

    Ordering: `update`/`update_many` calls on one stream are serialized by a lock, each
    applied whole (encode, store, predict) before the next starts. So a track's frames are
    stored in the order their updates were applied: in call order from one thread, and an
    update called while another one runs is applied after it. A failed update (a bad frame,
    a model producing NaN) stores nothing.
    """

    def __init__(self, recognizer: "Recognizer", *, window: int, max_tracks: int = 256) -> None:
        if not isinstance(window, int) or not 1 <= window <= recognizer.max_frames:
            raise InputError(f"window must be a whole number of frames from 1 to "
                             f"{recognizer.max_frames} (the model's max_frames), got {window!r}")
        if not isinstance(max_tracks, int) or max_tracks < 1:
            raise InputError(f"max_tracks must be a whole number >= 1, got {max_tracks!r}")
        self.recognizer = recognizer
        self.window = window
        self.max_tracks = max_tracks
        self._tracks: OrderedDict[Hashable, Deque[np.ndarray]] = OrderedDict()
        self._lock = threading.Lock()

    def update(self, track_id: Hashable, frame: Frame) -> Prediction:
        return self.update_many({track_id: frame})[track_id]

    def update_many(self, frames: Mapping[Hashable, Frame]) -> Dict[Hashable, Prediction]:
        """New frames of several tracks (e.g. one video frame's detections) in one batch."""
        with self._lock:
            return self._update_many(frames)

    def _update_many(self, frames: Mapping[Hashable, Frame]) -> Dict[Hashable, Prediction]:
        if not frames:
            return {}
        ids = list(frames)
        pixels = preprocess_frames([frames[t] for t in ids], self.recognizer.manifest.preprocess)
        embeddings = self.recognizer.encode(pixels)
        windows = [self._window_with(t, e) for t, e in zip(ids, embeddings)]
        padded, mask = pad_sequences(np.concatenate([np.stack(w) for w in windows]),
                                      [len(w) for w in windows], self.recognizer.max_frames)
        tens, ones, attention = self.recognizer.classify(padded, mask)
        predictions = {
            t: to_prediction(tens[i], ones[i], attention[i], len(windows[i]))
            for i, t in enumerate(ids)
        }
        for t, e in zip(ids, embeddings):
            self._push(t, e)
        return predictions

    def _window_with(self, track_id: Hashable, embedding: np.ndarray) -> list:
        """The track's last `window` embeddings once `embedding` is added; stores nothing."""
        return (list(self._tracks.get(track_id, ())) + [embedding])[-self.window:]

    def _push(self, track_id: Hashable, embedding: np.ndarray) -> None:
        track = self._tracks.pop(track_id, None)
        if track is None:
            track = deque(maxlen=self.window)
        track.append(embedding.copy())  # a row view would keep the whole batch alive
        self._tracks[track_id] = track
        while len(self._tracks) > self.max_tracks:
            self._tracks.popitem(last=False)

    def drop(self, track_id: Hashable) -> None:
        """Forget a track (e.g. the tracker lost it)."""
        with self._lock:
            self._tracks.pop(track_id, None)

    @property
    def tracks(self) -> list:
        with self._lock:
            return list(self._tracks)
