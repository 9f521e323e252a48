"""A video and a tracker's boxes -> one jersey number per track, through the streaming runtime.

Each video frame's boxes go through `TrackStream.update_from_detections`: every player of
the frame is encoded in one batch, each track's frame once. The stream answers over a
track's last `window` frames at every step; a track longer than that keeps the most
confident of those answers (the stretch where the number was most legible), and reports no
number when even that one falls below the model's abstain threshold.
"""

import itertools
import json
import time
from collections.abc import Sequence as SequenceABC
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, Iterator, List, Mapping, Optional, Sequence, Tuple

import numpy as np
from PIL import Image, ImageDraw
from tqdm import tqdm

from ..core.crops import crop_box
from ..core.errors import InputError, JerseyEdgeError
from ..core.fileio import atomic_write_text, check_outputs
from ..runtime.prediction import Prediction
from .mot import TrackBox, check_mot, frames_of, iter_mot
from .reader import VideoReader, VideoWriter

# Why a box was not read (TrackingRun.skipped); neither ends the run.
OFF_FRAME = "off the frame or under 2 px once clipped"
AFTER_END = "after the video's last frame"


@dataclass
class TrackResult:
    """What one track reads as, and where in the video it was seen."""

    track_id: int
    first_frame: int
    last_frame: int
    frames_seen: int = 0
    best: Optional[Prediction] = None

    def update(self, frame: int, prediction: Prediction) -> None:
        self.last_frame = frame
        self.frames_seen += 1
        if self.best is None or prediction.confidence > self.best.confidence:
            self.best = prediction

    @property
    def label(self) -> str:
        """What the annotation shows: the number, or '?' while none is legible."""
        number = None if self.best is None else self.best.number
        return "?" if number is None else str(number)

    def to_dict(self) -> Dict[str, Any]:
        best = self.best
        return {
            "track_id": self.track_id,
            "number": None if best is None else best.number,
            "best_guess": None if best is None else best.best_guess,
            "confidence": None if best is None else round(best.confidence, 6),
            "frames_seen": self.frames_seen,
            "first_frame": self.first_frame,
            "last_frame": self.last_frame,
        }


@dataclass
class TrackingRun:
    tracks: Dict[int, TrackResult]
    video_frames: int
    seconds: float
    boxes_used: int  # boxes that were cropped and encoded
    boxes_skipped: int  # boxes outside the frame, too small, or past the video's end
    fps_video: float
    accuracy: Optional[Dict[str, Any]] = field(default=None)
    skipped: Dict[str, int] = field(default_factory=dict)  # boxes_skipped by reason
    partial: bool = False  # the run stopped (failed or interrupted) before the video's end

    @property
    def frames_per_second(self) -> float:
        return self.video_frames / self.seconds if self.seconds > 0 else 0.0

    def to_dict(self) -> Dict[str, Any]:
        return {
            "tracks": [self.tracks[t].to_dict() for t in sorted(self.tracks)],
            "video_frames": self.video_frames,
            "seconds": round(self.seconds, 3),
            "frames_per_second": round(self.frames_per_second, 2),
            "boxes_used": self.boxes_used,
            "boxes_skipped": self.boxes_skipped,
            "skipped": self.skipped,
            "partial": self.partial,
            "accuracy": self.accuracy,
        }


def track_video(recognizer: Any, video: Path, boxes: Iterable[TrackBox], *,
                window: Optional[int] = None, annotate: Optional[Path] = None,
                progress: bool = True,
                on_stop: Optional[Callable[[TrackingRun], None]] = None) -> TrackingRun:
    """Run the streaming recognizer over `video` with the tracker's `boxes` (MOT frames are
    1-based); with `annotate`, also write the video with boxes and numbers drawn.

    `boxes` are read one video frame at a time, in frame order: a list is sorted here, an
    iterator (`mot.iter_mot` of a whole match) must come sorted, and memory then stays that
    of one frame's boxes however long the video. A run that fails or is interrupted
    part-way hands `on_stop` what it has read so far (`partial` set, counted up to the last
    whole video frame), then raises as it would."""
    if isinstance(boxes, SequenceABC):
        boxes = sorted(boxes, key=lambda b: b.frame)
    pending = frames_of(boxes)
    stream = recognizer.stream(window=window)
    tracks: Dict[int, TrackResult] = {}
    frames = used = seen = 0
    started = time.perf_counter()
    fps = 0.0

    def result(partial: bool) -> TrackingRun:
        seconds = time.perf_counter() - started  # the video's time, not the tail's reading
        skipped = {OFF_FRAME: seen - used}
        if not partial:
            skipped[AFTER_END] = sum(len(late) for _, late in pending)
        return TrackingRun(tracks=tracks, video_frames=frames,
                           seconds=seconds, boxes_used=used,
                           boxes_skipped=sum(skipped.values()), fps_video=fps,
                           skipped={k: v for k, v in skipped.items() if v > 0},
                           partial=partial)

    try:
        with VideoReader(video) as reader:
            info = reader.info
            fps = info.fps
            writer = (VideoWriter(annotate, width=info.width, height=info.height, fps=info.fps)
                      if annotate is not None else None)
            upcoming = next(pending, None)
            try:
                for index, rgb in enumerate(tqdm(reader.frames(), total=info.frames,
                                                 unit="frame", desc="track",
                                                 disable=not progress), start=1):
                    here: List[TrackBox] = []
                    if upcoming is not None and upcoming[0] == index:
                        here, upcoming = upcoming[1], next(pending, None)
                    used += _step(stream, tracks, index, rgb, here)
                    seen += len(here)
                    frames = index
                    if writer is not None:
                        writer.write(draw_tracks(rgb, here, tracks))
            except BaseException:
                if writer is not None:
                    writer.close(failed=True)
                raise
            if writer is not None:
                writer.close()
            if upcoming is not None:  # boxes after the last video frame
                pending = itertools.chain([upcoming], pending)
    except BaseException:
        if on_stop is not None and frames > 0:
            on_stop(result(partial=True))
        raise
    return result(partial=False)


def _step(stream: Any, tracks: Dict[int, TrackResult], index: int, rgb: np.ndarray,
          here: List[TrackBox]) -> int:
    """One video frame through the stream; returns how many of its boxes were encoded."""
    if not here:
        return 0
    predictions = stream.update_from_detections(
        rgb, np.array([b.xyxy for b in here], np.float64), [b.track_id for b in here])
    for track_id, prediction in predictions.items():
        result = tracks.setdefault(track_id, TrackResult(track_id, index, index))
        result.update(index, prediction)
    return len(predictions)


def score(run: TrackingRun, truth: Mapping[int, int]) -> Dict[str, Any]:
    """Per-track accuracy against the true numbers: a track that reads no number counts as
    wrong (it answered nothing), and is also counted on its own."""
    judged = [t for t in run.tracks.values() if t.track_id in truth]
    correct = sum(t.best is not None and t.best.number == truth[t.track_id] for t in judged)
    abstained = sum(t.best is None or t.best.number is None for t in judged)
    return {"tracks": len(judged), "correct": correct, "abstained": abstained,
            "accuracy": round(correct / len(judged), 4) if judged else None,
            "tracks_without_truth": len(run.tracks) - len(judged)}


def read_truth(path: Path) -> Dict[int, int]:
    """True numbers per track id from a JSON object: {id: number}, or such an object under
    "numbers" (as synth-video's clip.json holds it). Ids are read as the tracks file's ints."""
    try:
        data = json.loads(Path(path).expanduser().read_text())
    except FileNotFoundError:
        raise InputError(f"{path}: no such truth file") from None
    except (OSError, ValueError) as exc:
        raise InputError(f"{path} is not a readable JSON file ({exc})") from None
    numbers = data.get("numbers", data) if isinstance(data, dict) else None
    try:
        truth = {int(k): int(v) for k, v in numbers.items()} if isinstance(numbers, dict) else None
    except (TypeError, ValueError):
        truth = None
    if not truth or not all(0 <= n <= 99 for n in truth.values()):
        raise InputError(f"{path} must map track ids to numbers 0-99, e.g. {{\"3\": 17}}")
    return truth


READ = (255, 214, 0)  # a track that reads a number
UNREAD = (200, 200, 200)  # one that does not (yet)


def draw_tracks(rgb: np.ndarray, boxes: Sequence[TrackBox],
                tracks: Dict[int, TrackResult]) -> np.ndarray:
    """A copy of `rgb` with each box (clipped to the frame, as cropped) and "id: number" (its
    track's answer so far) drawn."""
    image = Image.fromarray(rgb)
    draw = ImageDraw.Draw(image)
    for box in boxes:
        result = tracks.get(box.track_id)
        label = result.label if result is not None else "?"
        colour = UNREAD if label == "?" else READ
        shown = crop_box(box.xyxy, image.size)
        if shown is None:  # off the frame: nothing of it to draw
            continue
        x0, y0, x1, y1 = shown
        draw.rectangle((x0, y0, x1 - 1, y1 - 1), outline=colour, width=2)
        _label(draw, (x0, y0), f"{box.track_id}: {label}", colour)
    return np.asarray(image)


def _label(draw: ImageDraw.ImageDraw, at: Tuple[float, float], text: str,
           colour: Tuple[int, int, int]) -> None:
    left, top, right, bottom = draw.textbbox((0, 0), text)
    x, y = at[0], max(0.0, at[1] - (bottom - top) - 4)
    draw.rectangle((x, y, x + right - left + 4, y + bottom - top + 4), fill=(0, 0, 0))
    draw.text((x + 2 - left, y + 2 - top), text, fill=colour)


def check_track_files(video: Path, boxes: Path, out: Path, *, annotate: Optional[Path] = None,
                      truth: Optional[Path] = None, artifacts: Optional[Path] = None
                      ) -> Optional[Dict[int, int]]:
    """Before any work: no output (--out, --annotate) overwrites an input, the two outputs
    differ, and every line of the tracks file `boxes` is sound (InputError otherwise);
    returns the true numbers per track id read from `truth`, None without one."""
    check_outputs({"--out": out, "--annotate": annotate}, [video, boxes, truth, artifacts])
    if annotate is not None and Path(annotate).resolve() == Path(out).resolve():
        raise InputError(f"--out and --annotate are both {out}; give two different files")
    check_mot(boxes)  # the whole file, a line at a time: a bad line stops it before the run
    return read_truth(truth) if truth is not None else None


def track_to_file(recognizer: Any, video: Path, boxes: Path, out: Path, *,
                  annotate: Optional[Path] = None, truth: Optional[Mapping[int, int]] = None,
                  window: Optional[int] = None) -> TrackingRun:
    """`track_video` over the MOT tracks file `boxes`, scored against `truth` (true numbers
    per track id) when given, written to `out` as JSON.

    A run stopped part-way by a library error or by Ctrl-C (SIGTERM too, where the caller
    turns it into one) first writes what it had read to `out`, then raises again with a
    message that says so: the same JerseyEdgeError, or a KeyboardInterrupt carrying it.
    """
    stopped: List[TrackingRun] = []
    try:
        run = track_video(recognizer, video, iter_mot(boxes), window=window, annotate=annotate,
                          on_stop=stopped.append)
    except (KeyboardInterrupt, JerseyEdgeError) as exc:
        if not stopped:
            raise
        _write(out, stopped[0])
        partial = (f"partial results ({len(stopped[0].tracks)} tracks, video frames "
                   f"1-{stopped[0].video_frames}) written to {out}")
        if isinstance(exc, KeyboardInterrupt):
            raise KeyboardInterrupt(f"interrupted; {partial}") from None
        exc.args = (f"{exc}; {partial}",)
        raise
    if truth is not None:
        run.accuracy = score(run, truth)
    _write(out, run)
    return run


def summary_lines(run: TrackingRun, out: Path, annotate: Optional[Path] = None
                  ) -> Iterator[str]:
    """A line per track, one for the run, and one for the accuracy when it was scored."""
    for _, result in sorted(run.tracks.items()):
        yield (f"track {result.track_id}\t{result.label}\t"
               f"frames {result.first_frame}-{result.last_frame} ({result.frames_seen} seen)")
    written = f"{out} and {annotate}" if annotate else str(out)
    yield (f"{len(run.tracks)} tracks, {run.video_frames} frames in {run.seconds:.1f} s "
           f"({run.frames_per_second:.1f} frames/s), {run.boxes_used} boxes read, "
           f"{run.boxes_skipped} skipped"
           + (f" ({', '.join(f'{n} {why}' for why, n in run.skipped.items())})"
              if run.skipped else "") + f"; wrote {written}")
    if run.accuracy is not None:
        acc = run.accuracy
        yield (f"per-track accuracy {acc['correct']}/{acc['tracks']}"
               + (f" = {acc['accuracy']:.1%}" if acc["accuracy"] is not None else "")
               + f" ({acc['abstained']} without a legible number)")


def _write(out: Path, run: TrackingRun) -> None:
    atomic_write_text(out, json.dumps(run.to_dict(), indent=1) + "\n")
