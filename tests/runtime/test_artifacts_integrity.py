"""Integrity of the export folder: hashes kept by add_files, names confined to the folder,
links and FIFOs refused, manifest values validated at load, bytes verified once and used."""

import hashlib
import json
import os
import sys
import threading
import types
from pathlib import Path

import pytest

from jersey_edge.core.errors import ArtifactError
from jersey_edge.core.preprocess import PreprocessConfig
from jersey_edge.runtime import manifest as manifest_module
from jersey_edge.runtime.artifacts import MANIFEST
from jersey_edge.runtime.backends import tensorrt as trt_backend
from jersey_edge.runtime.backends.tensorrt import build, session
from jersey_edge.runtime.backends.tensorrt.build import BuildOptions, build_engines
from jersey_edge.runtime.manifest import Manifest, add_files, load_manifest, write_manifest

GRAPHS = ["encoder.onnx", "head.onnx", "encoder.int8.onnx", "encoder.int8.cpu.onnx",
          "head.fp16.onnx", "calibration.cache"]


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A manifest that verifies, over placeholder files (never parsed here)."""
    root = tmp_path / "artifacts"
    root.mkdir()
    for name in GRAPHS:
        (root / name).write_bytes(f"placeholder {name}".encode())
    write_manifest(Manifest(root, model={"embed_dim": 256}, preprocess=PreprocessConfig(),
                            labels={}, max_frames=16), GRAPHS)
    return root


def edit_manifest(root: Path, edit) -> None:
    path = root / MANIFEST
    data = json.loads(path.read_text())
    edit(data)
    path.write_text(json.dumps(data))


def listed(root: Path) -> dict:
    return json.loads((root / MANIFEST).read_text())["files"]


# 1. add_files keeps the hashes it has and verifies them


def test_add_files_hashes_only_new_names_and_keeps_the_rest(folder):
    before = listed(folder)
    (folder / "encoder.fp32.engine").write_bytes(b"engine one")
    add_files(folder, ["encoder.fp32.engine"])
    assert listed(folder) == {**before, "encoder.fp32.engine": sha256(b"engine one")}
    (folder / "encoder.fp32.engine").write_bytes(b"engine rebuilt")
    add_files(folder, ["encoder.fp32.engine"])
    assert listed(folder) == {**before, "encoder.fp32.engine": sha256(b"engine rebuilt")}


def test_add_files_refuses_a_listed_file_changed_since_export(folder):
    manifest_before = (folder / MANIFEST).read_bytes()
    (folder / "head.onnx").write_bytes(b"changed during the engine build")
    (folder / "encoder.fp32.engine").write_bytes(b"engine")
    with pytest.raises(ArtifactError, match=r"head\.onnx does not match its sha256"):
        add_files(folder, ["encoder.fp32.engine"])
    assert (folder / MANIFEST).read_bytes() == manifest_before


def test_build_does_not_vouch_for_a_file_changed_during_the_build(folder, monkeypatch):
    def build_while_someone_edits(*args, **kwargs) -> bytes:
        (folder / "encoder.int8.cpu.onnx").write_bytes(b"changed while building")
        return b"engine"

    monkeypatch.setattr(build.compat, "require_tensorrt", lambda: None)
    monkeypatch.setattr(build.compat, "strongly_typed_available", lambda: True)
    monkeypatch.setattr(build, "_build_device", lambda: ("10.3.0", None))
    monkeypatch.setattr(build, "_build", build_while_someone_edits)
    with pytest.raises(ArtifactError, match=r"encoder\.int8\.cpu\.onnx does not match"):
        build_engines(folder, precision="fp32",
                      options=BuildOptions(parts=("head",), timing_cache=False))
    assert "head.fp32.engine" not in listed(folder)


# 2. one read, verified, handed to the loader


def test_read_returns_the_verified_bytes_and_refuses_tampered_ones(folder):
    manifest = load_manifest(folder)
    assert manifest.read("head.onnx") == b"placeholder head.onnx"
    (folder / "head.onnx").write_bytes(b"tampered")
    with pytest.raises(ArtifactError, match="sha256"):
        manifest.read("head.onnx")
    with pytest.raises(ArtifactError, match="not part of this export"):
        manifest.read("head.fp32.engine")


def fake_tensorrt(parsed: list, on_builder) -> types.ModuleType:
    """Just enough of `tensorrt` for build._build to reach OnnxParser.parse (which fails)."""
    trt = types.ModuleType("tensorrt")
    trt.__version__ = "10.3.0"

    class ILogger:
        INTERNAL_ERROR, ERROR, WARNING, INFO, VERBOSE = range(5)
        Severity = int

        def __init__(self) -> None:
            pass

    class IErrorRecorder:
        def __init__(self) -> None:
            pass

    class Builder:
        def __init__(self, logger) -> None:
            on_builder()

        def create_network(self, flags: int) -> object:
            return object()

    class OnnxParser:
        num_errors = 0

        def __init__(self, network, logger) -> None:
            pass

        def parse(self, model: bytes, path: str = "") -> bool:
            parsed.append(bytes(model))
            return False

    trt.ILogger, trt.Builder, trt.OnnxParser = ILogger, Builder, OnnxParser
    trt.IErrorRecorder, trt.ErrorCodeTRT = IErrorRecorder, int
    trt.BuilderFlag = types.SimpleNamespace(FP16=1, INT8=2)
    trt.NetworkDefinitionCreationFlag = types.SimpleNamespace(STRONGLY_TYPED=1)
    return trt


def test_engine_builder_parses_the_verified_bytes_not_a_swapped_file(folder, monkeypatch):
    parsed: list = []
    swap = lambda: (folder / "head.onnx").write_bytes(b"swapped after the check")  # noqa: E731
    monkeypatch.setitem(sys.modules, "tensorrt", fake_tensorrt(parsed, swap))
    monkeypatch.setattr(build.compat, "require_tensorrt", lambda: None)
    monkeypatch.setattr(build.compat, "_LOGGER", None)  # the stand-in's, for this test only
    with pytest.raises(ArtifactError, match="cannot parse"):
        build_engines(folder, precision="fp32",
                      options=BuildOptions(parts=("head",), timing_cache=False))
    assert parsed == [b"placeholder head.onnx"]


def test_tensorrt_backend_deserializes_the_verified_bytes(folder, monkeypatch):
    for part in ("encoder", "head"):
        (folder / f"{part}.fp32.engine").write_bytes(f"serialized {part}".encode())
    add_files(folder, ["encoder.fp32.engine", "head.fp32.engine"])
    opened: list = []

    class RecordingSession:
        def __init__(self, engine, **options) -> None:
            opened.append(engine)

    monkeypatch.setattr(session, "TensorRTSession", RecordingSession)
    backend = object.__new__(trt_backend.TensorRTBackend)  # skips the availability check
    backend.device_id = 0
    backend.open(load_manifest(folder), "fp32")
    assert opened == [b"serialized encoder", b"serialized head"]


# 3. only the layout's plain file names; links and FIFOs refused


@pytest.mark.parametrize("name", ["../outside.onnx", "/etc/hostname", "sub/encoder.onnx",
                                  "..", ".", "", "notes.txt", "encoder.onnx\x00"])
def test_names_outside_the_layout_are_refused_at_load(folder, name):
    outside = folder.parent / "outside.onnx"
    outside.write_bytes(b"outside")
    target = Path(name) if name.startswith("/") else folder / name
    digest = sha256(target.read_bytes()) if "\x00" not in name and target.is_file() else "0" * 64
    edit_manifest(folder, lambda d: d["files"].update({name: digest}))
    with pytest.raises(ArtifactError, match="not a file of an artifacts folder"):
        load_manifest(folder)


def test_a_symlink_with_the_right_bytes_is_refused(folder):
    copy = folder.parent / "copy.onnx"
    copy.write_bytes((folder / "head.onnx").read_bytes())
    (folder / "head.onnx").unlink()
    (folder / "head.onnx").symlink_to(copy)
    with pytest.raises(ArtifactError, match="symbolic link"):
        load_manifest(folder).verify("head.onnx")


def test_a_symlinked_manifest_is_refused(folder):
    real = folder.parent / "elsewhere.json"
    (folder / MANIFEST).rename(real)
    (folder / MANIFEST).symlink_to(real)
    with pytest.raises(ArtifactError, match="symbolic link"):
        load_manifest(folder)


def test_a_fifo_graph_is_refused(folder):
    (folder / "head.onnx").unlink()
    os.mkfifo(folder / "head.onnx")
    with pytest.raises(ArtifactError, match="not a regular file"):
        load_manifest(folder).verify("head.onnx")


def unblock_readers(fifo: Path, stop: threading.Event, blocked: threading.Event) -> None:
    """Open `fifo` for writing whenever a reader waits on it, so a test cannot hang."""
    while not stop.wait(0.05):
        try:
            fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
        except OSError:  # ENXIO: nobody is reading
            continue
        blocked.set()
        os.close(fd)


def test_a_fifo_manifest_is_refused_without_blocking(folder):
    (folder / MANIFEST).unlink()
    os.mkfifo(folder / MANIFEST)
    stop, blocked = threading.Event(), threading.Event()
    watchdog = threading.Thread(target=unblock_readers, args=(folder / MANIFEST, stop, blocked))
    watchdog.start()
    try:
        with pytest.raises(ArtifactError, match="not a regular file"):
            load_manifest(folder)
    finally:
        stop.set()
        watchdog.join()
    assert not blocked.is_set(), "load_manifest opened the FIFO and waited for a writer"


# 4. an unreadable manifest is not "not valid JSON"


def test_an_unreadable_manifest_is_reported_as_unreadable(folder, monkeypatch):
    def denied(path) -> bytes:
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(manifest_module, "read_regular_file", denied)
    with pytest.raises(ArtifactError, match="cannot be read") as info:
        load_manifest(folder)
    assert "JSON" not in str(info.value)


# 6. manifest values validated at load


def set_preprocess(key: str, value):
    return lambda d: d["preprocess"].update({key: value})


BAD_VALUES = {
    "height -5": (set_preprocess("height", -5), "height"),
    "height 1.5": (set_preprocess("height", 1.5), "height"),
    "width 0": (set_preprocess("width", 0), "width"),
    "pad_value 300": (set_preprocess("pad_value", 300), "pad_value"),
    "mean of 2": (set_preprocess("mean", [127.0, 127.0]), "mean"),
    "mean a string": (set_preprocess("mean", "127"), "mean"),
    "mean NaN": (set_preprocess("mean", [127.0, float("nan"), 127.0]), "mean"),
    "std zero": (set_preprocess("std", [0, 0, 0]), "std"),
    "std true": (set_preprocess("std", [True, 128.0, 128.0]), "std"),
    "sharpness NaN": (set_preprocess("sharpness", float("nan")), "sharpness"),
    "sharpness inf": (set_preprocess("sharpness", float("inf")), "sharpness"),
    "max_frames -3": (lambda d: d.update(max_frames=-3), "max_frames"),
    "max_frames 0": (lambda d: d.update(max_frames=0), "max_frames"),
    "max_frames 2.5": (lambda d: d.update(max_frames=2.5), "max_frames"),
    "max_frames true": (lambda d: d.update(max_frames=True), "max_frames"),
    "embed_dim -1": (lambda d: d["model"].update(embed_dim=-1), "embed_dim"),
    "schema true": (lambda d: d.update(schema_version=True), "schema version"),
    "preprocess a list": (lambda d: d.update(preprocess=[1, 2]), "preprocess"),
    "labels a string": (lambda d: d.update(labels="x"), "labels"),
    "files a list": (lambda d: d.update(files=["head.onnx"]), "files"),
    "hash not hex": (lambda d: d["files"].update({"head.onnx": "zz"}), "sha256"),
}


@pytest.mark.parametrize("case", sorted(BAD_VALUES))
def test_bad_manifest_values_are_refused_at_load(folder, case):
    edit, field = BAD_VALUES[case]
    edit_manifest(folder, edit)
    with pytest.raises(ArtifactError, match=field):
        load_manifest(folder)


def test_deeply_nested_manifest_is_an_artifact_error(folder):
    data = json.loads((folder / MANIFEST).read_text())
    text = json.dumps(data)[:-1] + ', "deep": ' + "[" * 100_000 + "]" * 100_000 + "}"
    (folder / MANIFEST).write_text(text)
    with pytest.raises(ArtifactError, match="nested too deeply"):
        load_manifest(folder)


def test_valid_manifest_values_still_load(folder):
    edit_manifest(folder, lambda d: d["preprocess"].update(mean=[0, 1.5, 255], sharpness=1))
    manifest = load_manifest(folder)
    assert manifest.preprocess.mean == (0.0, 1.5, 255.0) and manifest.preprocess.sharpness == 1.0
