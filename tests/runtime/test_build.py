"""Engine builder: graph choice, profiles, option and artifact checks, the no-TensorRT path.

Everything up to the first TensorRT call runs here; the build itself is in the `trt` tests
at the end (skipped without TensorRT and a CUDA GPU).
"""

import importlib.util
import json
import re
import struct
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from jersey_edge.core.errors import ArtifactError, BackendUnavailableError, InputError
from jersey_edge.core.preprocess import PreprocessConfig
from jersey_edge.runtime.artifacts import EMBEDDINGS, FRAMES, MASK, TIMING_CACHE
from jersey_edge.runtime.backends.tensorrt import calibration_cache, compat
from jersey_edge.runtime.backends.tensorrt.build import (
    BuildOptions,
    build_engines,
    plan_engine,
)
from jersey_edge.runtime.manifest import Manifest, add_files, load_manifest, write_manifest

TOOLS = Path(__file__).resolve().parents[1] / "tools"
needs_trt = pytest.mark.skipif(
    not (compat.tensorrt_installed() and compat.cuda_device_count() > 0),
    reason="needs TensorRT and a CUDA GPU",
)
without_trt = pytest.mark.skipif(
    compat.tensorrt_installed(), reason="TensorRT is installed here"
)


def load_tool(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, TOOLS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def fake_artifacts(tmp_path: Path) -> Path:
    """A manifest that verifies, over placeholder graphs (never parsed before TensorRT)."""
    names = ["encoder.onnx", "head.onnx", "encoder.int8.onnx", "encoder.int8.cpu.onnx",
             "head.fp16.onnx", "calibration.cache"]
    for name in names:
        (tmp_path / name).write_bytes(f"placeholder {name}".encode())
    write_manifest(Manifest(tmp_path, model={"embed_dim": 256}, preprocess=PreprocessConfig(),
                            labels={}, max_frames=16), names)
    return tmp_path


@pytest.mark.parametrize(
    ("part", "precision", "graph", "fp16", "int8"),
    [
        ("encoder", "fp32", "encoder.onnx", False, False),
        ("head", "fp32", "head.onnx", False, False),
        ("encoder", "fp16", "encoder.fp16.onnx", True, False),
        ("head", "fp16", "head.fp16.onnx", True, False),
        ("encoder", "int8", "encoder.int8.onnx", True, True),  # QDQ graph, not .cpu
        ("head", "int8", "head.fp16.onnx", True, False),  # the GRU is never quantized
    ],
)
def test_weakly_typed_plan_picks_graph_and_flags(part, precision, graph, fp16, int8):
    plan = plan_engine(part, precision, strongly_typed=False)
    assert (plan.graph, plan.fp16, plan.int8, plan.calibrate) == (graph, fp16, int8, False)
    assert not plan.strongly_typed
    assert plan.engine == f"{part}.{precision}.engine"


@pytest.mark.parametrize(
    ("part", "precision", "graph"),
    [
        ("encoder", "fp32", "encoder.onnx"),
        ("head", "fp32", "head.onnx"),
        ("encoder", "fp16", "encoder.fp16.onnx"),
        ("head", "fp16", "head.fp16.onnx"),
        ("encoder", "int8", "encoder.int8.typed.onnx"),  # FP16 between the Q/DQ pairs
        ("head", "int8", "head.fp16.onnx"),
    ],
)
def test_strongly_typed_plan_takes_precision_from_the_graph(part, precision, graph):
    plan = plan_engine(part, precision, strongly_typed=True)
    assert (plan.graph, plan.strongly_typed, plan.fp16, plan.int8) == (graph, True, False, False)
    assert plan.engine == f"{part}.{precision}.engine"  # one engine name, either typing


def test_plan_with_calibration_cache_uses_fp32_encoder_only():
    for typed in (False, True):  # the implicit path is weakly typed even where strong exists
        encoder = plan_engine("encoder", "int8", strongly_typed=typed,
                              use_calibration_cache=True)
        head = plan_engine("head", "int8", strongly_typed=typed, use_calibration_cache=True)
        assert (encoder.graph, encoder.int8, encoder.calibrate) == ("encoder.onnx", True, True)
        assert (head.graph, head.calibrate) == ("head.fp16.onnx", False)
        assert not encoder.strongly_typed and not head.strongly_typed


@pytest.mark.parametrize(
    ("part", "precision", "calibrate"),
    [("encoder", "int4", False), ("tail", "fp32", False), ("encoder", "fp16", True)],
)
def test_plan_refuses_bad_options(part, precision, calibrate):
    with pytest.raises(InputError):
        plan_engine(part, precision, strongly_typed=False, use_calibration_cache=calibrate)


def test_profile_shapes_from_manifest(fake_artifacts):
    manifest = load_manifest(fake_artifacts)
    assert manifest.profile_shapes("encoder", 16) == {
        FRAMES: ((1, 3, 160, 96), (16, 3, 160, 96), (256, 3, 160, 96))
    }
    assert manifest.profile_shapes("head", 8) == {
        EMBEDDINGS: ((1, 16, 256), (1, 16, 256), (8, 16, 256)),
        MASK: ((1, 16), (1, 16), (8, 16)),
    }
    with pytest.raises(InputError):
        manifest.profile_shapes("head", 0)


@without_trt
def test_build_without_tensorrt_says_how_to_install(fake_artifacts):
    with pytest.raises(BackendUnavailableError, match="TensorRT is not installed.*JetPack"):
        build_engines(fake_artifacts, precision="int8")
    assert not list(fake_artifacts.glob("*.engine"))


def test_build_refuses_tampered_graph_before_tensorrt(fake_artifacts):
    (fake_artifacts / "encoder.int8.onnx").write_bytes(b"swapped")
    with pytest.raises(ArtifactError, match="sha256"):
        build_engines(fake_artifacts, precision="int8")


@pytest.mark.parametrize(("precision", "typed", "missing"), [
    ("fp16", False, "encoder.fp16.onnx"), ("fp16", True, "encoder.fp16.onnx"),
    ("int8", True, "encoder.int8.typed.onnx"),  # an export older than the typed graph
])
def test_build_refuses_missing_graph(fake_artifacts, monkeypatch, precision, typed, missing):
    monkeypatch.setattr(compat, "require_tensorrt", lambda: None)
    monkeypatch.setattr(compat, "strongly_typed_available", lambda: typed)
    with pytest.raises(ArtifactError, match=rf"{re.escape(missing)} is not part of this export"):
        build_engines(fake_artifacts, precision=precision)


@pytest.mark.parametrize(
    "options",
    [
        {"precision": "int8", "parts": ()},
        {"precision": "int8", "workspace_mb": 0},
        {"precision": "int8", "max_sequences": 0},
    ],
)
def test_build_refuses_bad_options(fake_artifacts, options):
    precision = options.pop("precision")
    with pytest.raises(InputError):
        build_engines(fake_artifacts, precision=precision, options=BuildOptions(**options))


def run_cli(*args: str) -> subprocess.CompletedProcess:
    """`jersey-edge build-engine` in its own process: the one command line of the build."""
    return subprocess.run(
        [sys.executable, "-m", "jersey_edge", "build-engine", *args],
        capture_output=True, text=True, timeout=60,
    )


@without_trt
def test_cli_without_tensorrt_prints_one_line_and_exits_2(fake_artifacts):
    result = run_cli("--artifacts", str(fake_artifacts), "--precision", "int8")
    assert result.returncode == 2
    assert result.stderr.startswith("error: TensorRT is not installed")
    assert len(result.stderr.strip().splitlines()) == 1
    assert result.stdout == ""


def test_cli_missing_folder_prints_one_line_and_exits_2(tmp_path):
    result = run_cli("--artifacts", str(tmp_path / "nowhere"), "--precision", "fp32")
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert "artifacts folder" in result.stderr


def test_the_old_module_command_line_points_to_build_engine(fake_artifacts):
    result = subprocess.run(
        [sys.executable, "-m", "jersey_edge.runtime.backends.tensorrt.build", "--artifacts",
         str(fake_artifacts), "--precision", "fp32"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.splitlines() == [result.stderr.strip()]
    assert "jersey-edge build-engine" in result.stderr
    assert not list(fake_artifacts.glob("*.engine"))


def test_runtime_modules_import_without_tensorrt_or_pycuda():
    code = (
        "import sys; sys.modules['tensorrt'] = None; sys.modules['pycuda'] = None\n"
        "import jersey_edge.runtime.backends.tensorrt.build\n"
        "import jersey_edge.runtime.backends.tensorrt.session\n"
        "assert 'torch' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_stub_folder_is_not_mistaken_for_tensorrt(tmp_path, monkeypatch):
    if compat.tensorrt_installed():
        pytest.skip("a real TensorRT is installed and would be found first")
    (tmp_path / "tensorrt").mkdir()
    (tmp_path / "tensorrt" / "__init__.pyi").write_text("__version__: str\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert importlib.util.find_spec("tensorrt") is not None  # a namespace package
    assert not compat.tensorrt_installed()


@pytest.mark.parametrize(
    ("text", "expected"),
    [("8.5.2.2", (8, 5, 2, 2)), ("10.13.0.35", (10, 13, 0, 35)), ("11.0.0b1", (11, 0, 0))],
)
def test_version_tuple(text, expected):
    assert compat.version_tuple(text) == expected


@pytest.mark.parametrize(
    ("version", "tag"), [((8, 5, 2, 2), 8502), ((8, 6, 1), 8601), ((10, 3, 0, 30), 100300)]
)
def test_calibration_version_tag(version, tag):
    assert calibration_cache.version_tag(version) == tag


def test_calibration_table_is_relabelled_for_the_local_tensorrt():
    exported = b"TRT-8502-EntropyCalibration2\nframes: 3c010a14\n"
    assert calibration_cache.localize(exported, (10, 3, 0)) == (
        b"TRT-100300-EntropyCalibration2\nframes: 3c010a14\n"
    )
    with pytest.raises(ArtifactError, match="EntropyCalibration2"):
        calibration_cache.localize(b"TRT-8601-MinMaxCalibration\n", (8, 6, 1))
    with pytest.raises(ArtifactError):
        calibration_cache.localize(b"\x00\x01 not a cache", (8, 5, 2))


@pytest.mark.trt
@needs_trt
@pytest.mark.parametrize("precision", ["fp32", "fp16", "int8"])
def test_build_writes_verified_engines_and_timing_cache(tmp_path, precision):
    root = load_tool("tiny_artifacts").write_tiny_artifacts(tmp_path / "artifacts")
    paths = build_engines(root, precision=precision,
                          options=BuildOptions(max_sequences=2, workspace_mb=256))
    assert [p.name for p in paths] == [f"encoder.{precision}.engine", f"head.{precision}.engine"]
    manifest = load_manifest(root)
    for path in paths:
        assert manifest.verify(path.name) == path and path.stat().st_size > 0
    assert (root / TIMING_CACHE).stat().st_size > 0
    assert TIMING_CACHE not in json.loads((root / "manifest.json").read_text())["files"]


@pytest.mark.trt
@needs_trt
def test_build_reports_parser_errors(tmp_path):
    root = load_tool("tiny_artifacts").write_tiny_artifacts(tmp_path / "a", int8=False)
    (root / "head.onnx").write_bytes(b"not an onnx graph")
    manifest = load_manifest(root)
    write_manifest(manifest, sorted(manifest.files))
    with pytest.raises(ArtifactError, match="TensorRT cannot parse"):
        build_engines(root, precision="fp32", options=BuildOptions(parts=("head",)))


@pytest.mark.trt
@needs_trt
def test_build_int8_from_calibration_cache(tmp_path):
    """The legacy path: FP32 encoder + a cache of per-tensor scales, no calibration data."""
    import numpy as np
    import onnx
    import onnxruntime as ort

    if not compat.implicit_calibration_available():
        pytest.skip("this TensorRT has no implicit INT8 calibration (removed in 11)")
    tiny = load_tool("tiny_artifacts")
    root = tiny.write_tiny_artifacts(tmp_path / "a", int8=False)
    model = onnx.load(str(root / "encoder.onnx"))
    names = [FRAMES] + [out for node in model.graph.node for out in node.output]
    inner = names[1:]  # the last one (embeddings) is already a graph output
    model.graph.output.extend(onnx.ValueInfoProto(name=n) for n in inner[:-1])
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    frames = np.random.default_rng(0).normal(0, 1, (8, 3, 16, 8)).astype(np.float32)
    values = dict(zip(inner, session.run(inner, {FRAMES: frames})))
    values[FRAMES] = frames
    lines = ["TRT-8502-EntropyCalibration2"] + [
        f"{n}: {struct.pack('>f', float(np.abs(values[n]).max()) / 127).hex()}" for n in names
    ]
    (root / "calibration.cache").write_text("\n".join(lines) + "\n")
    add_files(root, ["calibration.cache"])
    paths = build_engines(root, precision="int8", options=BuildOptions(
        parts=("encoder",), max_sequences=1, use_calibration_cache=True))
    assert load_manifest(root).verify("encoder.int8.engine") == paths[0]
