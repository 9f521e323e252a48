"""Many sequence folders through one recognizer: `predict_folders`, behind `jersey-edge
predict`.

Folders go a chunk at a time (PREDICT_CHUNK), so memory stays bounded however many come;
each chunk's results are yielded, in the folders' order, before the next chunk is read. A
folder that cannot be read or predicted fails alone: its result carries the error and the
others go on.
"""

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Iterator, List, Optional, Sequence, Tuple

import numpy as np

from ..core.errors import JerseyEdgeError
from ..core.sequence_folders import sequence_frames
from .prediction import Prediction

if TYPE_CHECKING:
    from .recognizer import Recognizer

PREDICT_CHUNK = 32  # sequence folders decoded and encoded together: bounds predict's memory
NOT_FINITE = "the model's scores for it are not finite (NaN or inf)"


@dataclass(frozen=True)
class FolderResult:
    """One folder's prediction, or `error`: why it has none, one line naming the folder."""

    folder: Path
    prediction: Optional[Prediction] = None
    error: Optional[str] = None

    def line(self, as_json: bool = False) -> str:
        """The result line: `folder<TAB>number (or illegible)<TAB>confidence`, or with
        `as_json` one strict JSON object (ValueError for NaN or inf scores, which strict
        parsers refuse). Only for a result with a prediction."""
        if self.prediction is None:
            raise ValueError(f"{self.folder} has no prediction: {self.error}")
        if as_json:
            return json.dumps({"sequence": str(self.folder), **self.prediction.to_dict()},
                              allow_nan=False)
        shown = "illegible" if self.prediction.number is None else self.prediction.number
        return f"{self.folder}\t{shown}\t{self.prediction.confidence:.3f}"


def failed(folder: Path, message: str) -> FolderResult:
    """The result of a folder that has no prediction; the message names the folder once."""
    named = message if message.startswith(str(folder)) else f"{folder}: {message}"
    return FolderResult(folder, error=" ".join(named.split()))


def predict_folders(recognizer: "Recognizer", folders: Iterable[Path], *,
                    as_json: bool = False, chunk: Optional[int] = None
                    ) -> Iterator[FolderResult]:
    """Read and predict each folder of frames (`sequence_frames`), yielding one result per
    folder in order, a chunk of `chunk` folders (default PREDICT_CHUNK) at a time.

    A library error reading or predicting a folder (JerseyEdgeError) becomes that folder's
    result. as_json: the results will be written as strict JSON, so a prediction whose
    scores JSON cannot hold (NaN, inf) comes as an error too.
    """
    pending = list(folders)
    size = PREDICT_CHUNK if chunk is None else chunk
    for start in range(0, len(pending), size):
        for result in _predict_chunk(recognizer, pending[start:start + size]):
            yield _checked_for_json(result) if as_json else result


def _predict_chunk(recognizer: "Recognizer", folders: List[Path]) -> List[FolderResult]:
    """Read every folder of the chunk, then predict those that were read together."""
    results = {}
    ready: List[Tuple[Path, np.ndarray]] = []
    for folder in folders:
        try:
            ready.append((folder, recognizer.preprocess(sequence_frames(folder))))
        except JerseyEdgeError as exc:
            results[folder] = failed(folder, str(exc))
    results.update((result.folder, result) for result in _predict_ready(recognizer, ready))
    return [results[folder] for folder in folders]


def _predict_ready(recognizer: "Recognizer", ready: Sequence[Tuple[Path, np.ndarray]]
                   ) -> List[FolderResult]:
    """One encoder pass for the whole chunk; if that fails, one pass per folder, so only the
    folder that causes the failure fails."""
    if not ready:
        return []
    try:
        predictions = recognizer.predict_preprocessed([frames for _, frames in ready])
    except JerseyEdgeError as exc:
        if len(ready) == 1:
            return [failed(ready[0][0], str(exc))]
        return [result for item in ready for result in _predict_ready(recognizer, [item])]
    return [FolderResult(folder, prediction) for (folder, _), prediction in
            zip(ready, predictions)]


def _checked_for_json(result: FolderResult) -> FolderResult:
    if result.prediction is None:
        return result
    try:
        result.line(as_json=True)
    except ValueError:
        return failed(result.folder, NOT_FINITE)
    return result
