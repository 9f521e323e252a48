"""The runtime side of "no legible number": below the manifest's (or the caller's) abstain
threshold a prediction's number is None, its best guess still the argmax number."""

import dataclasses
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from jersey_edge.runtime import ArtifactError, InputError, Recognizer
from jersey_edge.runtime.artifacts import MANIFEST, graphs_for
from jersey_edge.runtime.manifest_sections import AbstainSection


def with_abstain(rec, abstain, **options):
    """A recognizer on `rec`'s sessions whose manifest says `abstain` (not to be closed)."""
    section = None if abstain is None else AbstainSection.from_json(abstain)
    manifest = dataclasses.replace(rec.manifest, abstain=section)
    return Recognizer(manifest, rec.encoder, rec.head, backend=rec.backend,
                      precision=rec.precision, **options)


def section(threshold):
    return {"threshold": threshold, "target_precision": 0.95, "split": "val", "sequences": 40,
            "coverage": 0.5, "accuracy": 0.95}


@pytest.fixture
def copied(exported, tmp_path):
    """The FP32 files of the tiny export in a folder whose manifest.json a test may edit."""
    copy = tmp_path / "artifacts"
    copy.mkdir()
    serving = graphs_for("fp32", "cpu")
    for name in (MANIFEST, serving.encoder, serving.head):
        shutil.copy2(exported.out / name, copy / name)
    return copy


def set_abstain(folder: Path, abstain) -> Path:
    data = json.loads((folder / MANIFEST).read_text())
    data["abstain"] = abstain
    (folder / MANIFEST).write_text(json.dumps(data))
    return folder


def test_below_the_threshold_the_number_is_none_and_the_best_guess_stays(rec, frames):
    never = with_abstain(rec, None)
    plain = never.predict(frames[:3])
    assert never.abstain_threshold == 0.0 and not plain.abstained
    assert plain.number == plain.best_guess
    low = with_abstain(rec, section(plain.confidence * 1.001)).predict(frames[:3])
    assert low.number is None and low.abstained and low.best_guess == plain.best_guess
    assert low.confidence == plain.confidence
    shown = low.to_dict()
    assert shown["number"] is None and shown["abstained"] is True
    assert shown["best_guess"] == plain.best_guess
    assert json.dumps(shown)


def test_a_confidence_equal_to_the_threshold_is_accepted(rec, frames):
    plain = with_abstain(rec, None).predict(frames[:3])
    at = with_abstain(rec, section(plain.confidence)).predict(frames[:3])
    assert at.number == plain.best_guess and at.to_dict()["abstained"] is False


def test_streams_abstain_by_the_same_threshold(rec, frames):
    plain = with_abstain(rec, None).stream().update("p", frames[0])
    strict = with_abstain(rec, section(plain.confidence * 1.001)).stream().update("p", frames[0])
    assert strict.number is None and strict.best_guess == plain.number


def test_the_callers_threshold_overrides_the_manifests(rec, frames):
    plain = with_abstain(rec, None).predict(frames[:2])
    never = with_abstain(rec, section(1.0), abstain_threshold=0.0)
    assert never.abstain_threshold == 0.0 and never.predict(frames[:2]).number == plain.number
    strict = with_abstain(rec, None, abstain_threshold=plain.confidence * 1.001)
    assert strict.predict(frames[:2]).number is None


def test_load_reads_the_threshold_and_takes_an_override(copied, frames):
    set_abstain(copied, section(1.0))
    with Recognizer.load(copied, backend="onnxruntime", threads=1) as strict:
        assert strict.abstain_threshold == 1.0
        guessed = strict.predict(frames[:2])
        assert guessed.number is None
    with Recognizer.load(copied, backend="onnxruntime", threads=1,
                         abstain_threshold=0.0) as never:
        assert never.predict(frames[:2]).number == guessed.best_guess


@pytest.mark.parametrize("abstain", [
    {"threshold": 0.5},
    section(1.5),
    section("high"),
    [0.5],
])
def test_an_invalid_abstain_section_is_an_artifact_error(copied, abstain):
    set_abstain(copied, abstain)
    with pytest.raises(ArtifactError, match="abstain"):
        Recognizer.load(copied, backend="onnxruntime")


@pytest.mark.parametrize("threshold", [-0.1, 1.5, float("nan"), "0.5", True])
def test_an_invalid_override_is_refused(exported, rec, threshold):
    with pytest.raises(InputError, match="abstain_threshold"):
        Recognizer.load(exported.out, backend="openvino", abstain_threshold=threshold)
    with pytest.raises(InputError, match="abstain_threshold"):
        with_abstain(rec, None, abstain_threshold=threshold)


def test_predict_cli_shows_an_abstention(copied, frames):
    set_abstain(copied, section(1.0))
    folder = Path(frames[0]).parent
    command = [sys.executable, "-m", "jersey_edge", "predict", str(folder), "--artifacts",
               str(copied), "--backend", "onnxruntime"]
    text = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert text.returncode == 0, text.stderr
    assert text.stdout.split("\t")[:2] == [str(folder), "illegible"]
    line = subprocess.run(command + ["--json"], capture_output=True, text=True, timeout=120)
    assert line.returncode == 0, line.stderr
    shown = json.loads(line.stdout)
    assert shown["number"] is None and shown["abstained"] is True
    assert 0 <= shown["best_guess"] <= 99
