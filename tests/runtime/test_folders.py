"""`predict_folders`, the library behind `jersey-edge predict`, with a stand-in recognizer:
results in the folders' order, a chunk at a time, and a folder that fails fails alone."""

from pathlib import Path
from typing import List

import numpy as np
import pytest

from jersey_edge.core.errors import ArtifactError
from jersey_edge.runtime import folders as folders_mod
from jersey_edge.runtime.folders import FolderResult, predict_folders
from jersey_edge.runtime.prediction import Prediction


def prediction(number, confidence: float = 0.5) -> Prediction:
    return Prediction(number=number, best_guess=number or 7, confidence=confidence,
                      tens_probs=np.full(11, 1 / 11), ones_probs=np.full(10, 0.1),
                      attention=np.ones(1))


class StandIn:
    """Reads a folder's one frame as an array of its number; a number < 0 breaks the
    encoder, as a bad graph input would."""

    def __init__(self) -> None:
        self.calls: List[str] = []

    def preprocess(self, frames):
        self.calls.append("read")
        return np.array([int(Path(frames[0]).stem)])

    def predict_preprocessed(self, sequences):
        self.calls.append(f"predict {len(sequences)}")
        if any(s[0] < 0 for s in sequences):
            raise ArtifactError("the encoder failed")
        return [prediction(int(s[0]), 0.9 if s[0] else 0.1) for s in sequences]


def sequence(root: Path, name: str, number: int) -> Path:
    folder = root / name
    folder.mkdir()
    (folder / f"{number}.jpg").write_bytes(b"")  # never decoded: the stand-in reads names
    return folder


def test_results_come_in_order_with_each_failure_on_its_own(tmp_path):
    good, broken = sequence(tmp_path, "a", 4), sequence(tmp_path, "b", -1)
    missing, other = tmp_path / "nowhere", sequence(tmp_path, "c", 48)
    rec = StandIn()
    results = list(predict_folders(rec, [good, broken, missing, other]))
    assert [r.folder for r in results] == [good, broken, missing, other]
    assert [r.prediction.number for r in results if r.prediction] == [4, 48]
    assert results[1].error == f"{broken}: the encoder failed"
    assert results[2].error.startswith(f"{missing}: not a folder")  # named once
    # One pass for the chunk; when it fails, one pass per folder.
    assert rec.calls == ["read"] * 3 + ["predict 3", "predict 1", "predict 1", "predict 1"]


def test_folders_go_a_chunk_at_a_time(tmp_path, monkeypatch):
    monkeypatch.setattr(folders_mod, "PREDICT_CHUNK", 2)
    rec = StandIn()
    results = predict_folders(rec, [sequence(tmp_path, f"s{i}", i + 1) for i in range(3)])
    next(results)
    assert rec.calls == ["read", "read", "predict 2"]  # the next chunk waits
    assert len(list(results)) == 2
    assert rec.calls[3:] == ["read", "predict 1"]
    assert len(list(predict_folders(StandIn(), [tmp_path / "s0"] * 5, chunk=4))) == 5


def test_lines_text_and_strict_json(tmp_path):
    folder = tmp_path / "seq"
    assert FolderResult(folder, prediction(48, 0.9)).line() == f"{folder}\t48\t0.900"
    assert FolderResult(folder, prediction(None, 0.1)).line() == f"{folder}\tillegible\t0.100"
    line = FolderResult(folder, prediction(4)).line(as_json=True)
    assert line.startswith(f'{{"sequence": "{folder}", "number": 4,')
    with pytest.raises(ValueError):
        FolderResult(folder, prediction(4, float("nan"))).line(as_json=True)
    with pytest.raises(ValueError):
        FolderResult(folder, error="unreadable").line()


def test_scores_json_cannot_hold_are_errors_only_for_json(tmp_path, monkeypatch):
    folder = sequence(tmp_path, "a", 4)
    nan = prediction(4, float("nan"))
    monkeypatch.setattr(StandIn, "predict_preprocessed", lambda self, sequences: [nan])
    (text,) = predict_folders(StandIn(), [folder])
    (strict,) = predict_folders(StandIn(), [folder], as_json=True)
    assert text.error is None and text.line() == f"{folder}\t4\tnan"
    assert strict.prediction is None
    assert strict.error == f"{folder}: the model's scores for it are not finite (NaN or inf)"


def test_multi_line_messages_become_one_line(tmp_path):
    result = folders_mod.failed(tmp_path, "bad\n  frame")
    assert result.error == f"{tmp_path}: bad frame" and result.prediction is None
