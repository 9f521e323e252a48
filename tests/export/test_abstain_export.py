"""Export's abstain threshold: chosen on the validation split with the exported FP32 pair,
stored in the manifest (or a warning when the target is out of reach), printed, read back."""

import json
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from typer.testing import CliRunner

from jersey_edge.cli import app
from jersey_edge.core.digits import digits_to_number
from jersey_edge.core.errors import InputError
from jersey_edge.core.preprocess import preprocess_sequence
from jersey_edge.data.discovery import discover
from jersey_edge.data.splits import load_splits
from jersey_edge.export import pipeline
from jersey_edge.export.abstain import (
    calibrate_abstain,
    choose_abstain,
    describe,
    split_confidences,
)
from jersey_edge.export.pipeline import ExportOptions, export_model
from jersey_edge.model.net import load_checkpoint
from jersey_edge.runtime.artifacts import MANIFEST
from jersey_edge.runtime.manifest import load_manifest
from jersey_edge.runtime.recognizer import Recognizer
from jersey_edge.train.evaluate import stored_abstain_threshold

RIGHT = 3  # the test's stand-in truth: the three most confident val sequences are right


def _val(exported):
    seed = load_checkpoint(exported.checkpoint).record.seed
    records = discover(exported.data_root).records
    return load_splits(records, exported.checkpoint.parent, seed=seed).val


def _confidences(exported, root: Path):
    return split_confidences(root, _val(exported), preprocess=exported.preprocess,
                             max_frames=exported.max_frames, progress=False)


def test_untrained_model_gets_a_warning_and_no_section(exported) -> None:
    """The tiny model reads no val sequence right: 95% precision is out of reach."""
    assert load_manifest(exported.out).abstain is None
    assert json.loads((exported.out / MANIFEST).read_text())["abstain"] is None
    warned = [w for w in exported.report.warnings if w.startswith("abstain:")]
    assert len(warned) == 1
    assert "reaches 95% precision on val (6 sequences)" in warned[0]
    with pytest.raises(InputError, match="no abstain threshold"):
        stored_abstain_threshold(exported.out)  # evaluate --artifacts


def test_split_confidences_are_what_the_runtime_reports(exported) -> None:
    records = _val(exported)
    confidence, correct = _confidences(exported, exported.out)
    sequences = [preprocess_sequence(r.frames, exported.preprocess, exported.max_frames)
                 for r in records]
    with Recognizer.load(exported.out, backend="onnxruntime", precision="fp32",
                         providers=["CPUExecutionProvider"]) as rec:
        predictions = rec.predict_preprocessed(sequences)
    np.testing.assert_allclose(confidence, [p.confidence for p in predictions], rtol=1e-6)
    assert correct.tolist() == [digits_to_number(p.tens, p.ones) == r.label
                                for p, r in zip(predictions, records)]


def test_illegible_val_sequences_are_negatives(exported) -> None:
    """Relabelled with the number the model reads, every val sequence is right; the two least
    confident as illegible (-1: SoccerNet's unreadable tracklets, `Splits.illegible`) never
    are, so the threshold refuses them and only them."""
    records = _val(exported)
    confidence, _ = _confidences(exported, exported.out)
    with Recognizer.load(exported.out, backend="onnxruntime", precision="fp32",
                         providers=["CPUExecutionProvider"]) as rec:
        sequences = [preprocess_sequence(r.frames, exported.preprocess, exported.max_frames)
                     for r in records]
        read = [digits_to_number(p.tens, p.ones) for p in rec.predict_preprocessed(sequences)]
    order = np.argsort(confidence)
    splits = SimpleNamespace(val=[replace(records[i], label=read[i]) for i in order[2:]],
                             illegible={"val": [replace(records[i], label=-1)
                                                for i in order[:2]]})
    choice = calibrate_abstain(exported.out, splits, target_precision=1.0,
                               preprocess=exported.preprocess, max_frames=exported.max_frames,
                               progress=False, min_accepted=1)
    assert choice.section is not None and choice.warning is None
    assert choice.section.threshold == pytest.approx(confidence[order[2]], rel=1e-6)
    assert (choice.section.sequences, choice.section.coverage) == (6, 4 / 6)
    assert choice.section.accuracy == 1.0


def _three_right(root, splits, *, target_precision, preprocess, max_frames, progress):
    """calibrate_abstain on the real val confidences of the staged export, but with the three
    most confident sequences counted right (the untrained model reads none)."""
    confidence, _ = split_confidences(root, splits.val, preprocess=preprocess,
                                      max_frames=max_frames, progress=progress)
    right = confidence >= np.sort(confidence)[-RIGHT]
    return choose_abstain(confidence, right, target_precision=target_precision,
                          min_accepted=RIGHT)


def test_reachable_target_is_stored_printed_and_read_back(exported, monkeypatch,
                                                          tmp_path: Path) -> None:
    monkeypatch.setattr(pipeline, "calibrate_abstain", _three_right)
    out = tmp_path / "artifacts"
    result = CliRunner().invoke(app, ["export", "--checkpoint", str(exported.checkpoint),
                                      "--out", str(out), "--abstain-precision", "1"])
    assert result.exit_code == 0, result.output
    section = load_manifest(out).abstain
    confidence, _ = _confidences(exported, exported.out)
    assert section is not None
    assert section.threshold == pytest.approx(np.sort(confidence)[-RIGHT], rel=1e-6)
    assert 0.0 <= section.threshold <= 1.0
    assert (section.target_precision, section.split, section.sequences) == (1.0, "val", 6)
    assert (section.coverage, section.accuracy) == (0.5, 1.0)
    assert json.loads((out / MANIFEST).read_text())["abstain"]["threshold"] == section.threshold
    assert stored_abstain_threshold(out) == section.threshold  # evaluate --artifacts
    line = describe(section)
    assert line == f"abstain below confidence {section.threshold:.3f}: val coverage 50.0%, " \
                   "accuracy 100.0% (n=6)"
    assert result.output.strip().splitlines()[-1] == line


def test_zero_precision_chooses_no_threshold(exported, tmp_path: Path) -> None:
    report = export_model(exported.checkpoint, tmp_path / "artifacts", options=ExportOptions(
        golden_size=2, abstain_precision=0.0, progress=False))
    assert load_manifest(tmp_path / "artifacts").abstain is None
    assert not [w for w in report.warnings if w.startswith("abstain:")]


def test_precision_outside_zero_one_fails_before_any_work(exported, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="abstain precision"):
        export_model(exported.checkpoint, tmp_path / "out", options=ExportOptions(
            abstain_precision=1.5))
    assert not (tmp_path / "out").exists()
