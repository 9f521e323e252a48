"""Loaders use the bytes the manifest verified, and a graph that disagrees with the manifest
is refused when it is opened, not at predict time. On a copy of the tiny real export."""

import io
import json
import shutil
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import numpy_helper

from jersey_edge.bench.inputs import from_golden
from jersey_edge.core.errors import ArtifactError
from jersey_edge.runtime.artifacts import GOLDEN, MANIFEST
from jersey_edge.runtime.manifest import load_manifest
from jersey_edge.runtime.recognizer import Recognizer

CPU = ["CPUExecutionProvider"]


@pytest.fixture
def folder(exported, tmp_path: Path) -> Path:
    copy = tmp_path / "artifacts"
    shutil.copytree(exported.out, copy)
    return copy


def other_head(path: Path) -> bytes:
    """A valid head graph with other weights: what an attacker or a stray copy would swap in."""
    model = onnx.load(str(path))
    for init in model.graph.initializer:
        array = numpy_helper.to_array(init)
        if array.dtype == np.float32 and array.size > 1:
            init.CopyFrom(numpy_helper.from_array(array + np.float32(0.5), init.name))
    return model.SerializeToString()


def golden_outputs(rec: Recognizer, folder: Path):
    with np.load(folder / GOLDEN) as data:
        frames, mask = data["frames"], data["mask"].astype(np.float32)
    embeddings = rec.encode(frames.reshape(-1, *frames.shape[2:]))
    return rec.classify(embeddings.reshape(*mask.shape, -1), mask)[:2]


def head_logits(model, embeddings: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(model, providers=CPU)
    mask = np.ones(embeddings.shape[:2], np.float32)
    return session.run(["tens_logits"], {"embeddings": embeddings, "mask": mask})[0]


def test_onnxruntime_runs_the_verified_graph_even_if_the_file_is_swapped(folder, monkeypatch):
    swapped = other_head(folder / "head.onnx")
    probe = np.random.default_rng(0).normal(size=(1, 4, 256)).astype(np.float32)
    original = head_logits(str(folder / "head.onnx"), probe)
    assert not np.allclose(head_logits(swapped, probe), original)  # the swap matters
    with Recognizer.load(folder, "onnxruntime", "fp32", providers=CPU) as rec:
        expected = golden_outputs(rec, folder)
    real_session = ort.InferenceSession
    opened: list = []

    def swap_then_open(model, *args, **kwargs):
        opened.append(model)
        if len(opened) == 2:  # the head: verified already, not opened yet
            (folder / "head.onnx").write_bytes(swapped)
        return real_session(model, *args, **kwargs)

    monkeypatch.setattr(ort, "InferenceSession", swap_then_open)
    with Recognizer.load(folder, "onnxruntime", "fp32", providers=CPU) as rec:
        got = golden_outputs(rec, folder)
    assert len(opened) == 2 and (folder / "head.onnx").read_bytes() == swapped
    for want, have in zip(expected, got):
        np.testing.assert_array_equal(have, want)


def test_golden_is_read_from_the_verified_bytes(folder, monkeypatch, tmp_path):
    with np.load(folder / GOLDEN) as data:
        original = {k: data[k] for k in data.files}
    buffer = io.BytesIO()
    np.savez(buffer, **{**original, "tens": original["tens"] + 1})
    real_load = np.load

    def swap_then_load(source, *args, **kwargs):
        (folder / GOLDEN).write_bytes(buffer.getvalue())
        return real_load(source, *args, **kwargs)

    monkeypatch.setattr(np, "load", swap_then_load)
    golden = from_golden(load_manifest(folder), tmp_path)
    np.testing.assert_array_equal(golden.tens, original["tens"])


def edit_manifest(folder: Path, edit) -> None:
    path = folder / MANIFEST
    data = json.loads(path.read_text())
    edit(data)
    path.write_text(json.dumps(data))


@pytest.mark.parametrize("edit", [
    lambda d: d.update(max_frames=3),
    lambda d: d.update(max_frames=8),
    lambda d: d["preprocess"].update(height=32),
    lambda d: d["model"].update(embed_dim=128),
], ids=["max_frames 3", "max_frames 8", "height 32", "embed_dim 128"])
def test_graph_and_manifest_disagreeing_fails_at_load(folder, edit):
    edit_manifest(folder, edit)
    with pytest.raises(ArtifactError, match="graph and manifest disagree"):
        Recognizer.load(folder, "onnxruntime", "fp32", providers=CPU)
