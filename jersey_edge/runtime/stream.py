"""Streaming recognition for a tracker: one encoder pass per new frame per track."""

import threading
import warnings
from collections import Counter, OrderedDict, deque
from collections.abc import Sequence as SequenceABC
from typing import TYPE_CHECKING, Any, Deque, Dict, Hashable, List, Mapping, Optional

import numpy as np

from ..core.crops import CropRule, crop_box, cut
from ..core.errors import InputError
from ..core.preprocess import Frame, check_channel_order, preprocess_frames
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

    max_age: a track not updated for more than this many update calls (video frames) starts
    afresh when its id comes back; None keeps it until evicted (LRU) or dropped.
    channel_order: of array frames and video frames, "rgb" or "bgr" (None: the recognizer's).
    crop_rule: how `update_from_detections` turns a box into a crop (default: the box
    itself, as the training crops are cut).
    """

    def __init__(self, recognizer: "Recognizer", *, window: int, max_tracks: int = 256,
                 channel_order: Optional[str] = None,
                 crop_rule: Optional[CropRule] = None, max_age: Optional[int] = None) -> None:
        if not isinstance(window, int) or not 1 <= window <= recognizer.max_frames:
            raise InputError(f"window must be a whole number of frames from 1 to "
                             f"{recognizer.max_frames} (the model's max_frames), got {window!r}")
        if not isinstance(max_tracks, int) or max_tracks < 1:
            raise InputError(f"max_tracks must be a whole number >= 1, got {max_tracks!r}")
        if max_age is not None and (isinstance(max_age, bool) or not isinstance(max_age, int)
                                    or max_age < 1):
            raise InputError(f"max_age must be a whole number of updates >= 1, or None, "
                             f"got {max_age!r}")
        if crop_rule is not None and not isinstance(crop_rule, CropRule):
            raise InputError(f"crop_rule must be a jersey_edge.core.crops.CropRule, "
                             f"got {type(crop_rule).__name__}")
        self.recognizer = recognizer
        self.window = window
        self.max_tracks = max_tracks
        self.channel_order = check_channel_order(
            recognizer.channel_order if channel_order is None else channel_order)
        self.crop_rule = CropRule() if crop_rule is None else crop_rule
        self.max_age = max_age
        self._tracks: OrderedDict[Hashable, Deque[np.ndarray]] = OrderedDict()
        self._last_update: Dict[Hashable, int] = {}
        self._updates = 0  # update calls so far: the clock of max_age
        self._warned_full = False
        self._lock = threading.Lock()

    def update(self, track_id: Hashable, frame: Frame) -> Prediction:
        return self.update_many({track_id: frame})[track_id]

    def update_many(self, frames: Mapping[Hashable, Frame]) -> Dict[Hashable, Prediction]:
        """New frames of several tracks (e.g. one video frame's detections) in one batch."""
        with self._lock:
            return self._update_many(frames)

    def update_from_detections(self, frame: np.ndarray, boxes_xyxy: Any,
                               track_ids: Any) -> Dict[Hashable, Prediction]:
        """One video frame and its tracker's output: each box's crop, cut by `crop_rule`,
        is the new frame of its track, and all of them go through the encoder in one batch.

        frame: HxWx3 uint8 in this stream's channel order; boxes_xyxy: [N,4] x0, y0, x1, y1
        in pixels; track_ids: N ids, unique. A box (nearly) off the frame is skipped: its
        track is not in the result and its cache is left as it was.
        """
        return self.update_many(self._crops(frame, boxes_xyxy, track_ids))

    def _crops(self, frame: np.ndarray, boxes_xyxy: Any,
               track_ids: Any) -> Dict[Hashable, np.ndarray]:
        """Track id -> its box's crop of `frame`, in box order, skipping off-frame boxes."""
        _check_video_frame(frame)
        boxes = _boxes_array(boxes_xyxy)
        ids = _track_ids(track_ids, len(boxes))
        size = (frame.shape[1], frame.shape[0])
        crops: Dict[Hashable, np.ndarray] = {}
        for track_id, box in zip(ids, boxes):
            pixels = crop_box(box, size, self.crop_rule)
            if pixels is not None:
                crops[track_id] = cut(frame, pixels)
        return crops

    def _update_many(self, frames: Mapping[Hashable, Frame]) -> Dict[Hashable, Prediction]:
        if not frames:
            return {}
        ids = list(frames)
        self._forget_stale(ids)
        if len(ids) > self.max_tracks and not self._warned_full:
            self._warned_full = True
            warnings.warn(f"one update holds {len(ids)} tracks but the stream keeps at most "
                          f"max_tracks={self.max_tracks}: tracks are evicted every frame and "
                          "re-read from scratch; raise it with "
                          "Recognizer.stream(max_tracks=...)", RuntimeWarning, stacklevel=4)
        pixels = preprocess_frames([frames[t] for t in ids], self.recognizer.manifest.preprocess,
                                   self.channel_order)
        embeddings = self.recognizer.encode(pixels)
        windows = [self._window_with(t, e) for t, e in zip(ids, embeddings)]
        padded, mask = pad_sequences(np.concatenate([np.stack(w) for w in windows]),
                                      [len(w) for w in windows], self.recognizer.max_frames)
        tens, ones, attention = self.recognizer.classify(padded, mask)
        predictions = {
            t: to_prediction(tens[i], ones[i], attention[i], len(windows[i]),
                             self.recognizer.abstain_threshold)
            for i, t in enumerate(ids)
        }
        for t, e in zip(ids, embeddings):
            self._push(t, e)
        return predictions

    def _window_with(self, track_id: Hashable, embedding: np.ndarray) -> list:
        """The track's last `window` embeddings once `embedding` is added; stores nothing."""
        return (list(self._tracks.get(track_id, ())) + [embedding])[-self.window:]

    def _forget_stale(self, ids: List[Hashable]) -> None:
        """Count this update; a track of `ids` last updated over max_age updates ago starts
        afresh (an id a tracker reuses an hour later is another player)."""
        self._updates += 1
        if self.max_age is None:
            return
        for track_id in ids:
            last = self._last_update.get(track_id)
            if last is not None and self._updates - last > self.max_age:
                self._tracks.pop(track_id, None)
                del self._last_update[track_id]

    def _push(self, track_id: Hashable, embedding: np.ndarray) -> None:
        track = self._tracks.pop(track_id, None)
        if track is None:
            track = deque(maxlen=self.window)
        track.append(embedding.copy())  # a row view would keep the whole batch alive
        self._tracks[track_id] = track
        self._last_update[track_id] = self._updates
        while len(self._tracks) > self.max_tracks:
            evicted, _ = self._tracks.popitem(last=False)
            self._last_update.pop(evicted, None)

    def drop(self, track_id: Hashable) -> None:
        """Forget a track (e.g. the tracker lost it)."""
        with self._lock:
            self._tracks.pop(track_id, None)
            self._last_update.pop(track_id, None)

    @property
    def tracks(self) -> list:
        with self._lock:
            return list(self._tracks)


def _check_video_frame(frame: object) -> None:
    if not isinstance(frame, np.ndarray) or frame.ndim != 3 or frame.shape[2] != 3:
        got = f"shape {frame.shape}" if isinstance(frame, np.ndarray) else type(frame).__name__
        raise InputError(f"a video frame must be an HxWx3 uint8 array (as a video reader or "
                         f"OpenCV gives it), got {got}")
    if frame.dtype != np.uint8:
        raise InputError(f"a video frame must be an HxWx3 uint8 array, got dtype {frame.dtype}")


def _boxes_array(boxes_xyxy: Any) -> np.ndarray:
    """The boxes as an [N,4] float array (no boxes: [0,4])."""
    try:
        boxes = np.asarray(boxes_xyxy, dtype=np.float64)
    except (TypeError, ValueError):
        raise InputError(f"boxes_xyxy must be an [N,4] array of numbers x0, y0, x1, y1, got a "
                         f"{type(boxes_xyxy).__name__} that does not read as one") from None
    if boxes.ndim == 1 and boxes.size == 0:
        return boxes.reshape(0, 4)
    if boxes.ndim != 2 or boxes.shape[1] != 4:
        raise InputError(f"boxes_xyxy must be an [N,4] array of x0, y0, x1, y1, got shape "
                         f"{boxes.shape}")
    return boxes


def _track_ids(track_ids: Any, count: int) -> List[Hashable]:
    """One hashable, unique id per box; numpy scalars as Python ones (np.int64(3) -> 3)."""
    if isinstance(track_ids, np.ndarray):
        track_ids = track_ids.tolist()
    if isinstance(track_ids, (str, bytes)) or not isinstance(track_ids, SequenceABC):
        raise InputError(f"track_ids must be a list, tuple or array of ids, one per box, got "
                         f"{type(track_ids).__name__}")
    ids = [t.item() if isinstance(t, np.generic) else t for t in track_ids]
    if len(ids) != count:
        raise InputError(f"track_ids has {len(ids)} ids for {count} boxes: give one id per box")
    try:
        counts = Counter(ids)
    except TypeError:
        raise InputError("track ids must be hashable (ints, strings, tuples of them), got "
                         f"{next(t for t in ids if not _hashable(t))!r}") from None
    repeated = [repr(t) for t, n in counts.items() if n > 1]
    if repeated:
        raise InputError(f"track ids must be unique within a frame, got {', '.join(repeated)} "
                         "more than once")
    return ids


def _hashable(value: object) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True
