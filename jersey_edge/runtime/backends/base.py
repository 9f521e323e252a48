"""The backend template, in Polygraphy's runner shape: a `Backend` opens an artifacts folder's
graph pair for one precision; a `Session` runs one graph, named numpy in -> named numpy out.

One small class per backend (ONNX Runtime, TensorRT) fills in `_open` and `_run`; what every
backend must do alike — refuse a closed session, check the feed against the graph's input
metadata, close both graphs when the second fails to open — lives here, once.
"""

import abc
from pathlib import Path
from typing import Dict, List, NamedTuple, Sequence, Tuple

import numpy as np

from ...core.errors import ArtifactError, InputError
from ..artifacts import MANIFEST, PARTS
from ..manifest import Manifest

Feed = Dict[str, np.ndarray]
Shape = Tuple[int, ...]  # -1 marks a dynamic dimension


class Session(abc.ABC):
    """One loaded graph (encoder or head) on one backend."""

    #: name of the backend, e.g. "onnxruntime" or "tensorrt"
    backend: str = ""
    #: provider/device details for reports, e.g. "CPUExecutionProvider"
    device: str = ""

    @property
    @abc.abstractmethod
    def closed(self) -> bool:
        """True once `close` ran."""

    @property
    @abc.abstractmethod
    def input_shapes(self) -> Dict[str, Shape]:
        """Input name -> shape as the graph or engine declares it, in graph order."""

    @property
    def input_names(self) -> List[str]:
        return list(self.input_shapes)

    def run(self, feed: Feed) -> Dict[str, np.ndarray]:
        """Run the graph on float32 inputs; return float32 outputs by name.

        Not to be overridden: backends implement `_run`, which sees only checked feeds.
        """
        if self.closed:
            raise InputError(f"this {self.backend} session is closed: load the artifacts again")
        check_feed(feed, self.input_shapes)
        return self._run(feed)

    @abc.abstractmethod
    def _run(self, feed: Feed) -> Dict[str, np.ndarray]:
        """Run a feed `run` has checked."""

    def max_batch(self) -> int:
        """Largest leading dimension one call accepts (engines have profile limits)."""
        return 1 << 30

    @abc.abstractmethod
    def close(self) -> None:
        """Release device memory and handles. Idempotent."""

    def __enter__(self) -> "Session":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class SessionPair(NamedTuple):
    encoder: Session
    head: Session


class Backend(abc.ABC):
    """Opens the graphs of an artifacts folder on one inference library."""

    name: str = ""

    @abc.abstractmethod
    def can_serve(self, manifest: Manifest, precision: str) -> bool:
        """Whether the folder holds what this backend needs for `precision`."""

    @abc.abstractmethod
    def _open(self, manifest: Manifest, part: str, precision: str) -> Session:
        """One part's session, from the manifest-verified bytes of its file."""

    def open(self, manifest: Manifest, precision: str) -> SessionPair:
        """Encoder and head sessions; if the head fails to open, the encoder is closed."""
        encoder = self._open(manifest, PARTS[0], precision)
        try:
            head = self._open(manifest, PARTS[1], precision)
        except BaseException:
            encoder.close()
            raise
        return SessionPair(encoder, head)


def check_feed(feed: Feed, expected: Dict[str, Shape]) -> None:
    """Refuse inputs of wrong name, rank, trailing shape, dtype or with NaN/Inf."""
    if sorted(feed) != sorted(expected):
        raise InputError(f"expected inputs {sorted(expected)}, got {sorted(feed)}")
    for name, shape in expected.items():
        arr = feed[name]
        if not isinstance(arr, np.ndarray) or arr.dtype != np.float32:
            raise InputError(f"input {name!r} must be a float32 numpy array")
        if arr.ndim != len(shape) or any(
            want not in (-1, got) for want, got in zip(shape, arr.shape)
        ):
            raise InputError(f"input {name!r} has shape {arr.shape}, expected {shape}")
        if not np.isfinite(arr).all():
            raise InputError(f"input {name!r} contains NaN or Inf")


def check_graph(session: Session, outputs: Sequence[str], manifest: Manifest, part: str,
                where: Path) -> Session:
    """`session` if its graph takes the inputs and gives the outputs the manifest implies;
    otherwise it is closed and ArtifactError says how they disagree."""
    try:
        check_inputs(session.input_shapes, manifest.input_shapes(part), where)
        missing = sorted(set(manifest.output_names(part)) - set(outputs))
        if missing:
            raise ArtifactError(f"{where} lacks the output(s) {missing} (it has "
                                f"{sorted(outputs)}): the graph and {MANIFEST} disagree; "
                                "re-export")
    except ArtifactError:
        session.close()
        raise
    return session


def check_inputs(found: Dict[str, Tuple[int, ...]], implied: Dict[str, Tuple[int, ...]],
                 where: Path) -> None:
    """A graph whose fixed input dimensions differ from the manifest's (max_frames, image
    size, embedding width) fails here at load, not at the first prediction. A dynamic
    dimension (-1) on either side matches anything."""
    if sorted(found) != sorted(implied):
        raise ArtifactError(f"{where} has inputs {sorted(found)}, {MANIFEST} implies "
                            f"{sorted(implied)}: the graph and manifest disagree; re-export")
    for name, want in implied.items():
        got = found[name]
        if len(got) != len(want) or any(-1 not in (g, w) and g != w for g, w in zip(got, want)):
            raise ArtifactError(
                f"{where}: input {name!r} has shape {_dims(got)}, {MANIFEST} implies "
                f"{_dims(want)}: the graph and manifest disagree; re-export"
            )


def _dims(shape: Tuple[int, ...]) -> str:
    return "(" + ", ".join("N" if d == -1 else str(d) for d in shape) + ")"
