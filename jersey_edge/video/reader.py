"""Video files in and out through PyAV (FFmpeg's libraries): RGB uint8 frames as numpy.

PyAV is imported inside the functions, so the runtime imports without it; `require_av`
says how to install it.
"""

import warnings
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Optional

import numpy as np
from PIL import Image

from ..core.errors import BackendUnavailableError, InputError
from ..core.fileio import PathLike, atomic_path

AV_MISSING = "reading and writing video needs PyAV: pip install av"


def require_av() -> Any:
    """The `av` module, or BackendUnavailableError saying how to get it."""
    try:
        import av
    except ImportError:
        raise BackendUnavailableError(AV_MISSING) from None
    return av


@dataclass(frozen=True)
class VideoInfo:
    width: int
    height: int
    fps: float
    frames: Optional[int]  # as the container states it; None where it does not


class VideoReader:
    """Frames of one video, decoded in order; use as a context manager."""

    def __init__(self, path: PathLike) -> None:
        av = require_av()
        self.path = Path(path).expanduser()
        if not self.path.is_file():
            raise InputError(f"{self.path}: no such video file")
        try:
            self._container = av.open(str(self.path))
            stream = self._container.streams.video[0]
        except (av.error.FFmpegError, IndexError, UnicodeDecodeError) as exc:
            raise InputError(f"{self.path} cannot be read as a video ({_reason(exc)})") from None
        rate = stream.average_rate or stream.guessed_rate or 25
        self.info = VideoInfo(width=stream.codec_context.width, height=stream.codec_context.height,
                              fps=float(rate), frames=stream.frames or None)
        self._stream = stream

    def frames(self) -> Iterator[np.ndarray]:
        """HxWx3 uint8 RGB frames; InputError naming the frame where decoding fails."""
        av = require_av()
        index = 0
        try:
            for frame in self._container.decode(self._stream):
                index += 1
                if index == 1:
                    _warn_if_rotated(self.path, getattr(frame, "rotation", 0))
                yield frame.to_ndarray(format="rgb24")
        except av.error.FFmpegError as exc:
            raise InputError(f"{self.path}: video frame {index + 1} cannot be decoded "
                             f"({_reason(exc)})") from None
        if index == 0:
            raise InputError(f"{self.path} holds no decodable video frame")

    def close(self) -> None:
        self._container.close()

    def __enter__(self) -> "VideoReader":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class VideoWriter:
    """H.264 (yuv420p) written to a temporary file and renamed into place on close, so a
    crash never leaves a half-written video under the final name."""

    def __init__(self, path: PathLike, *, width: int, height: int, fps: float) -> None:
        av = require_av()
        self._files = ExitStack()
        tmp = self._files.enter_context(atomic_path(Path(path).expanduser()))
        # yuv420p needs even sides: odd frames get one black row/column.
        self._size = (width + width % 2, height + height % 2)
        self._container = av.open(str(tmp), mode="w", format="mp4")
        self._stream = self._container.add_stream("libx264", rate=round(fps) or 25)
        self._stream.width, self._stream.height = self._size
        self._stream.pix_fmt = "yuv420p"
        self._av = av

    def write(self, rgb: np.ndarray) -> None:
        """One frame; a frame of another size (a stream whose resolution changes) is scaled
        down to fit, keeping its aspect, and padded with black to the video's size."""
        width, height = self._size
        if rgb.shape[0] > height or rgb.shape[1] > width:
            scale = min(width / rgb.shape[1], height / rgb.shape[0])
            size = (max(1, int(rgb.shape[1] * scale)), max(1, int(rgb.shape[0] * scale)))
            rgb = np.asarray(Image.fromarray(rgb).resize(size, Image.Resampling.BILINEAR))
        if rgb.shape[:2] != (height, width):
            padded = np.zeros((height, width, 3), np.uint8)
            padded[:rgb.shape[0], :rgb.shape[1]] = rgb
            rgb = padded
        frame = self._av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
        for packet in self._stream.encode(frame):
            self._container.mux(packet)

    def close(self, failed: bool = False) -> None:
        """Flush and publish the file; with `failed`, drop it instead."""
        try:
            if not failed:
                for packet in self._stream.encode():
                    self._container.mux(packet)
        finally:
            self._container.close()
            if failed:  # atomic_path deletes its temporary file when the block fails
                self._files.__exit__(RuntimeError, RuntimeError("video not finished"), None)
            else:
                self._files.close()

    def __enter__(self) -> "VideoWriter":
        return self

    def __exit__(self, kind: object, *rest: object) -> None:
        self.close(failed=kind is not None)


def _warn_if_rotated(path: Path, rotation: object) -> None:
    """Phone clips declare a rotation that FFmpeg (and OpenCV-based trackers) apply on
    display; frames here are decoded as stored, so the tracker's boxes would not match."""
    if isinstance(rotation, (int, float)) and round(rotation) % 360:
        warnings.warn(f"{path} declares a {round(rotation)} degree rotation, which is not "
                      "applied here: frames are read as stored, so boxes from a tracker that "
                      "rotated the video will not match; rotate the file first (ffmpeg -i IN "
                      "OUT re-encodes it upright)", RuntimeWarning, stacklevel=3)


def _reason(exc: BaseException) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
