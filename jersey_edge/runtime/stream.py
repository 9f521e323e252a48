"""Streaming recognition for a tracker: one encoder pass per new frame per track."""

import threading
from collections import OrderedDict, deque
from typing import TYPE_CHECKING, Deque, Dict, Hashable, Mapping

import numpy as np

from .errors import InputError
from .prediction import Prediction, to_prediction
from .preprocess import Frame, preprocess_frame
from .sampling import pad_sequence

if TYPE_CHECKING:
    from .recognizer import Recognizer


class TrackStream:
    """Keeps the last `window` frame embeddings of each track (at most `max_tracks`, LRU).

    `update` gives at every step the same answer as `Recognizer.predict` on the track's
    last `window` frames, at the cost of one frame through the encoder instead of all.
    """

    def __init__(self, recognizer: "Recognizer", *, window: int, max_tracks: int = 256) -> None:
        if not 1 <= window <= recognizer.max_frames:
            raise InputError(f"window must be 1-{recognizer.max_frames}, got {window}")
        if max_tracks < 1:
            raise InputError(f"max_tracks must be >= 1, got {max_tracks}")
        self.recognizer = recognizer
        self.window = window
        self.max_tracks = max_tracks
        self._tracks: OrderedDict[Hashable, Deque[np.ndarray]] = OrderedDict()
        self._lock = threading.Lock()

    def update(self, track_id: Hashable, frame: Frame) -> Prediction:
        return self.update_many({track_id: frame})[track_id]

    def update_many(self, frames: Mapping[Hashable, Frame]) -> Dict[Hashable, Prediction]:
        """New frames of several tracks (e.g. one video frame's detections) in one batch."""
        if not frames:
            return {}
        ids = list(frames)
        cfg = self.recognizer.manifest.preprocess
        pixels = np.stack([preprocess_frame(frames[t], cfg) for t in ids])
        embeddings = self.recognizer.encode(pixels)
        with self._lock:
            windows = [self._push(t, e) for t, e in zip(ids, embeddings)]
        padded, masks = zip(*(pad_sequence(np.stack(w), self.recognizer.max_frames)
                              for w in windows))
        tens, ones, attention = self.recognizer.classify(np.stack(padded), np.stack(masks))
        return {
            t: to_prediction(tens[i], ones[i], attention[i], len(windows[i]))
            for i, t in enumerate(ids)
        }

    def _push(self, track_id: Hashable, embedding: np.ndarray) -> list:
        track = self._tracks.pop(track_id, None)
        if track is None:
            track = deque(maxlen=self.window)
        track.append(embedding)
        self._tracks[track_id] = track
        while len(self._tracks) > self.max_tracks:
            self._tracks.popitem(last=False)
        return list(track)

    def drop(self, track_id: Hashable) -> None:
        """Forget a track (e.g. the tracker lost it)."""
        with self._lock:
            self._tracks.pop(track_id, None)

    @property
    def tracks(self) -> list:
        with self._lock:
            return list(self._tracks)
