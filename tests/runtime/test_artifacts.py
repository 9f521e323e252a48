import json

import pytest

from jersey_edge.core.errors import ArtifactError
from jersey_edge.core.preprocess import PreprocessConfig
from jersey_edge.runtime import artifacts
from jersey_edge.runtime.manifest import Manifest, load_manifest, write_manifest


@pytest.fixture
def folder(tmp_path):
    (tmp_path / "encoder.onnx").write_bytes(b"encoder-bytes")
    (tmp_path / "head.onnx").write_bytes(b"head-bytes")
    manifest = Manifest(tmp_path, model={"embed_dim": 256}, preprocess=PreprocessConfig(),
                        labels={}, max_frames=16)
    write_manifest(manifest, ["encoder.onnx", "head.onnx"])
    return tmp_path


def test_manifest_round_trip_and_verify(folder):
    manifest = load_manifest(folder)
    assert manifest.max_frames == 16 and manifest.embed_dim == 256
    assert manifest.available_precisions() == ["fp32"]
    assert manifest.verify("encoder.onnx") == folder / "encoder.onnx"


def test_tampered_file_is_refused(folder):
    (folder / "head.onnx").write_bytes(b"head-bytes, tampered")
    with pytest.raises(ArtifactError, match="sha256"):
        load_manifest(folder).verify("head.onnx")


def test_swapped_files_are_refused(folder):
    enc, head = (folder / "encoder.onnx").read_bytes(), (folder / "head.onnx").read_bytes()
    (folder / "encoder.onnx").write_bytes(head)
    (folder / "head.onnx").write_bytes(enc)
    with pytest.raises(ArtifactError):
        load_manifest(folder).verify("encoder.onnx")


@pytest.mark.parametrize("edit,message", [
    (lambda d: d.update(schema_version=99), "schema version"),
    (lambda d: d.pop("files"), "lacks files"),
    (lambda d: d["preprocess"].pop("height"), "malformed"),
])
def test_bad_manifests(folder, edit, message):
    path = folder / artifacts.MANIFEST
    data = json.loads(path.read_text())
    edit(data)
    path.write_text(json.dumps(data))
    with pytest.raises(ArtifactError, match=message):
        load_manifest(folder)


def test_missing_folder_and_manifest(tmp_path):
    with pytest.raises(ArtifactError, match="export"):
        load_manifest(tmp_path / "nope")
    with pytest.raises(ArtifactError, match="missing"):
        load_manifest(tmp_path)


def test_graphs_for_per_target():
    assert artifacts.graphs_for("int8", "tensorrt").encoder == "encoder.int8.onnx"
    assert artifacts.graphs_for("int8", "cpu").encoder == "encoder.int8.cpu.onnx"
    assert artifacts.graphs_for("int8", "cpu").head == "head.onnx"
    assert artifacts.graphs_for("int8", "tensorrt").head == "head.fp16.onnx"
    assert artifacts.graphs_for("fp16", "cpu").head == "head.fp16.onnx"
    assert artifacts.graphs_for("int8", "tensorrt").engine("head") == "head.int8.engine"


def test_builder_flags_are_the_servings_own():
    """One place says which TensorRT precision flags a graph pair is built with: engines
    and ONNX Runtime's TensorRT provider both read them from the Serving."""
    flags = {(p, part): artifacts.graphs_for(p, "tensorrt").builder_flags(part)
             for p in ("fp32", "fp16", "int8") for part in ("encoder", "head")}
    assert flags == {("fp32", "encoder"): [], ("fp32", "head"): [],
                     ("fp16", "encoder"): ["fp16"], ("fp16", "head"): ["fp16"],
                     ("int8", "encoder"): ["fp16", "int8"], ("int8", "head"): ["fp16"]}
    for target in ("cpu", "tensorrt-typed", "openvino"):
        assert artifacts.graphs_for("int8", target).builder_flags("encoder") == []

