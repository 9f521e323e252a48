"""The runtime against a real (tiny) export: parity, streaming, threads, errors, no torch."""

import json
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from jersey_edge.data.discovery import discover
from jersey_edge.runtime import ArtifactError, InputError, Recognizer
from jersey_edge.runtime.artifacts import GOLDEN


@pytest.fixture(scope="module")
def sequences(exported):
    return [list(r.frames) for r in discover(exported.data_root).records[:6]]


def test_fp32_logits_match_pytorch_golden(rec, exported):
    with np.load(exported.out / GOLDEN) as golden:
        frames, mask = golden["frames"], golden["mask"]
        lengths = mask.sum(1).astype(int)
        embeddings = rec.encode(frames.reshape(-1, *frames.shape[2:])).reshape(
            *frames.shape[:2], -1)
        tens, ones, _ = rec.classify(embeddings, mask)
        assert np.abs(tens - golden["tens_logits"]).max() <= 1e-4
        assert np.abs(ones - golden["ones_logits"]).max() <= 1e-4
        preds = rec.predict_preprocessed([f[:n] for f, n in zip(frames, lengths)])
        assert [p.tens for p in preds] == list(golden["tens_logits"].argmax(1))


def test_prediction_fields(rec, sequences):
    p = rec.predict(sequences[0])
    assert 0 <= p.best_guess <= 99 and 0.0 < p.confidence <= 1.0
    assert p.tens_probs.shape == (11,) and p.ones_probs.shape == (10,)
    assert p.attention.shape == (len(sequences[0]),)
    assert abs(p.attention.sum() - 1) < 1e-5
    assert json.dumps(p.to_dict())


def test_frame_kinds_give_identical_predictions(rec, sequences):
    paths = sequences[0]
    images = [Image.open(f).convert("RGB") for f in paths]
    arrays = [np.asarray(img) for img in images]
    results = [rec.predict(frames) for frames in (paths, images, arrays)]
    for other in results[1:]:
        np.testing.assert_array_equal(other.tens_probs, results[0].tens_probs)


def test_batch_equals_one_by_one(rec, sequences):
    batch = rec.predict_batch(sequences)
    for seq, p in zip(sequences, batch):
        single = rec.predict(seq)
        assert np.abs(single.ones_probs - p.ones_probs).max() < 1e-5


def test_long_sequences_are_sampled_to_the_window(rec, sequences):
    long = (sequences[0] * 200)[:500]
    assert rec.predict(long).attention.shape == (rec.max_frames,)


def test_streaming_matches_predict_on_the_window(rec, sequences):
    frames = sequences[0] + sequences[1]
    window = rec.max_frames
    stream = rec.stream(window=window)
    for step, frame in enumerate(frames):
        streamed = stream.update("player-7", frame)
        expected = rec.predict(frames[max(0, step + 1 - window):step + 1])
        assert np.abs(streamed.tens_probs - expected.tens_probs).max() <= 1e-5
        assert np.abs(streamed.ones_probs - expected.ones_probs).max() <= 1e-5


def test_stream_keeps_tracks_apart_and_bounded(rec, sequences):
    stream = rec.stream(max_tracks=2)
    for track in ("a", "b", "c"):
        stream.update(track, sequences[0][0])
    assert stream.tracks == ["b", "c"]
    stream.drop("b")
    assert stream.tracks == ["c"]
    with pytest.raises(InputError):
        rec.stream(window=rec.max_frames + 1)


def test_concurrent_predicts_equal_sequential(rec, sequences):
    jobs = [sequences[i % len(sequences)] for i in range(50)]
    expected = [rec.predict(seq).number for seq in jobs]
    with ThreadPoolExecutor(max_workers=8) as pool:
        for _ in range(8):
            assert [p.number for p in pool.map(rec.predict, jobs)] == expected


@pytest.mark.parametrize("bad", [[], "frame.jpg", [np.full((4, 4, 3), 2.0, np.float32)],
                                 [np.zeros((4, 4), np.int64)], [object()]])
def test_bad_frames_are_input_errors(rec, bad):
    with pytest.raises(InputError):
        rec.predict(bad)


def test_tampered_artifacts_are_refused(exported, tmp_path):
    copy = tmp_path / "artifacts"
    shutil.copytree(exported.out, copy)
    with open(copy / "head.onnx", "ab") as handle:
        handle.write(b"\0")
    with pytest.raises(ArtifactError, match="sha256"):
        Recognizer.load(copy, backend="onnxruntime")


def test_unknown_backend_and_missing_precision(exported, tmp_path):
    with pytest.raises(InputError, match="unknown backend"):
        Recognizer.load(exported.out, backend="coreml")
    copy = tmp_path / "fp32-only"
    shutil.copytree(exported.out, copy)
    (copy / "encoder.int8.cpu.onnx").unlink()
    with pytest.raises(ArtifactError):
        Recognizer.load(copy, backend="onnxruntime", precision="int8")


NO_TORCH = """
import sys, json, time
sys.modules["torch"] = None
started = time.perf_counter()
from jersey_edge.runtime import Recognizer
from jersey_edge.core.sequence_folders import sequence_frames
rec = Recognizer.load(sys.argv[1], precision=sys.argv[3])
p = rec.predict(sequence_frames(sys.argv[2]))
assert "torch" not in [m for m in sys.modules if sys.modules[m] is not None]
print(json.dumps({"number": p.number, "seconds": time.perf_counter() - started}))
"""


@pytest.mark.parametrize("precision", ["fp32", "int8"])
def test_runtime_predicts_with_torch_unimportable(exported, rec, precision):
    record = discover(exported.data_root).records[0]
    folder = record.frames[0].parent
    result = subprocess.run([sys.executable, "-c", NO_TORCH, str(exported.out), str(folder),
                             precision], capture_output=True, text=True, timeout=120,
                            cwd=Path(__file__).parents[2])
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    if precision == "fp32":
        assert out["number"] == rec.predict(list(record.frames)).number


def test_predict_cli_json(exported):
    folder = discover(exported.data_root).records[0].frames[0].parent
    result = subprocess.run([sys.executable, "-m", "jersey_edge", "predict", str(folder),
                             "--artifacts", str(exported.out), "--json"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    line = json.loads(result.stdout.strip())
    assert line["sequence"] == str(folder) and 0 <= line["best_guess"] <= 99
