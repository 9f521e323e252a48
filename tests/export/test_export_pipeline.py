"""export_model end to end: the folder, its manifest, the runtime opening it, and errors."""

from pathlib import Path

import numpy as np
import onnx
import pytest

from jersey_edge.core.errors import InputError
from jersey_edge.export.pipeline import ExportOptions, export_model
from jersey_edge.runtime.artifacts import (
    CALIBRATION_CACHE,
    GOLDEN,
    INT8_REPORT,
    MANIFEST,
    onnx_name,
)
from jersey_edge.runtime.manifest import load_manifest
from jersey_edge.runtime.recognizer import Recognizer

EXPECTED = {
    "encoder.onnx", "head.onnx", "encoder.fp16.onnx", "head.fp16.onnx", "encoder.int8.onnx",
    "encoder.int8.typed.onnx", "encoder.int8.cpu.onnx", CALIBRATION_CACHE, GOLDEN, INT8_REPORT,
    MANIFEST, "encoder.golden_inputs.json", "encoder.golden_outputs.json",
    "head.golden_inputs.json", "head.golden_outputs.json",
}


def test_folder_holds_exactly_the_artifacts(exported) -> None:
    assert {p.name for p in exported.out.iterdir()} == EXPECTED
    assert set(exported.report.files) == EXPECTED
    strays = [p.name for p in exported.out.parent.iterdir() if p.name.startswith(".artifacts")]
    assert strays == []


def test_manifest_hashes_every_file_and_describes_the_model(exported) -> None:
    manifest = load_manifest(exported.out)
    assert set(manifest.files) == EXPECTED - {MANIFEST}
    for name in manifest.files:
        manifest.verify(name)  # raises on any mismatch
    assert manifest.max_frames == exported.max_frames and manifest.embed_dim == 256
    assert manifest.opset is not None and manifest.opset >= 17
    assert manifest.int8 is not None and manifest.int8.head.startswith("not quantized")
    assert manifest.int8.calibration["source_split"] == "train"
    assert manifest.int8.calibration["frames"] == 16
    assert set(manifest.tools) >= {"torch", "onnx", "onnxruntime", "onnxconverter-common",
                                  "jersey-edge"}
    assert manifest.parity.rows == exported.report.parity


def test_fp32_parity_and_head_padding_invariance(exported) -> None:
    rows = {r.name: r for r in exported.report.parity}
    assert rows["fp32"].golden_max_abs_diff <= 1e-4
    assert rows["fp32"].golden_agreement == 1.0 and rows["fp32"].ok is True
    assert set(rows) == {"PyTorch", "fp32", "fp16", "int8 cpu", "int8 tensorrt",
                         "int8 tensorrt typed"}
    assert exported.report.padding_invariance == {"head.onnx": 0.0, "head.fp16.onnx": 0.0}


@pytest.mark.parametrize("precision", ["fp32", "fp16", "int8"])
def test_runtime_serves_every_precision_on_cpu(exported, precision: str) -> None:
    with np.load(exported.out / GOLDEN) as golden:
        frames, lengths = golden["frames"], golden["lengths"]
    sequences = [f[:n] for f, n in zip(frames, lengths)]
    with Recognizer.load(exported.out, backend="onnxruntime", precision=precision,
                         providers=["CPUExecutionProvider"]) as rec:
        predictions = rec.predict_preprocessed(sequences)
    assert len(predictions) == len(sequences)
    assert all(0 <= p.best_guess <= 99 for p in predictions)


def test_every_graph_passes_the_full_checker(exported) -> None:
    for name in sorted(EXPECTED):
        if name.endswith(".onnx"):
            onnx.checker.check_model(onnx.load(str(exported.out / name)), full_check=True)


def test_golden_outputs_match_pytorch(exported) -> None:
    import torch

    with np.load(exported.out / GOLDEN) as golden:
        data = {k: golden[k] for k in golden.files}
    assert data["frames"].shape[:2] == data["mask"].shape == (4, exported.max_frames)
    assert data["lengths"].tolist() == [4, 3, 2, 1]
    assert (data["mask"].sum(1) == data["lengths"]).all()
    with torch.no_grad():
        tens, ones, _ = exported.model(torch.from_numpy(data["frames"]),
                                       torch.from_numpy(data["mask"]))
    np.testing.assert_allclose(tens.numpy(), data["tens_logits"], atol=1e-5)
    np.testing.assert_allclose(ones.numpy(), data["ones_logits"], atol=1e-5)


def test_reexport_replaces_the_folder_with_identical_graphs(exported, tmp_path: Path) -> None:
    out = tmp_path / "artifacts"
    out.mkdir()
    (out / MANIFEST).write_text("{}")
    (out / "stale.txt").write_text("from an older export")
    export_model(exported.checkpoint, out, options=ExportOptions(golden_size=4, progress=False))
    manifest = load_manifest(out)
    assert sorted(p.name for p in out.iterdir()) == sorted([*manifest.files, MANIFEST])
    assert [p.name for p in tmp_path.iterdir()] == ["artifacts"]  # no staging leftovers
    # same checkpoint, same bytes (only manifest.json differs, by its timestamps)
    original = load_manifest(exported.out).files
    for name in (onnx_name("encoder", "fp32"), onnx_name("head", "fp32"), GOLDEN):
        assert manifest.files[name] == original[name], name


def test_missing_data_root_is_an_input_error(tiny_dataset: Path, tiny_checkpoint,
                                             tmp_path: Path) -> None:
    checkpoint = tiny_checkpoint(tmp_path, tiny_dataset, record_data_root=False)
    with pytest.raises(InputError, match="give the dataset folder"):
        export_model(checkpoint, tmp_path / "out", options=ExportOptions(progress=False))
    with pytest.raises(InputError, match="dataset folder .*nowhere: no such folder"):
        export_model(checkpoint, tmp_path / "out", data_root=tmp_path / "nowhere",
                     options=ExportOptions(progress=False))
    assert not (tmp_path / "out").exists()


def test_bad_options_fail_before_any_work(exported, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="calibration method"):
        export_model(exported.checkpoint, tmp_path / "out", options=ExportOptions(
            int8=True, calib_method="kl"))
    with pytest.raises(InputError, match="split"):
        export_model(exported.checkpoint, tmp_path / "out", options=ExportOptions(
            parity_split="holdout"))
