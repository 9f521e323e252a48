"""The trtexec line of each engine and the manifest's "engines" section, without TensorRT:
both come from the plan and profile the builder uses, and the section round-trips through
`add_files` and `load_manifest` as the builder writes it."""

import json
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from jersey_edge.bench import render_table, write_markdown
from jersey_edge.bench.report import BenchReport, engine_records
from jersey_edge.core.errors import ArtifactError, InputError
from jersey_edge.core.preprocess import PreprocessConfig
from jersey_edge.runtime.artifacts import ENGINES, MANIFEST
from jersey_edge.runtime.backends.tensorrt.build import (
    BuildOptions,
    engine_record,
    plan_engine,
    trtexec_command,
    trtexec_commands,
)
from jersey_edge.runtime.backends.tensorrt.cuda_driver import CudaDevice
from jersey_edge.runtime.manifest import (
    EngineRecord,
    Manifest,
    add_files,
    load_manifest,
    write_manifest,
)

GRAPHS = ["encoder.onnx", "head.onnx", "encoder.fp16.onnx", "head.fp16.onnx",
          "encoder.int8.onnx", "encoder.int8.typed.onnx", "calibration.cache"]
ORIN = CudaDevice(index=0, name="Orin", compute_capability="8.7", memory_mib=30536)


def artifacts_in(folder: Path) -> Path:
    """A manifest over placeholder graphs: trtexec lines and records never read them."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in GRAPHS:
        (folder / name).write_bytes(f"placeholder {name}".encode())
    write_manifest(Manifest(folder, model={"embed_dim": 256}, preprocess=PreprocessConfig(),
                            labels={}, max_frames=16), GRAPHS)
    return folder


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return artifacts_in(tmp_path / "artifacts")


def line_for(folder: Path, part: str, precision: str, *, typed: bool, **options) -> list:
    build = BuildOptions(**options)
    plan = plan_engine(part, precision, strongly_typed=typed,
                       use_calibration_cache=build.use_calibration_cache)
    shapes = load_manifest(folder).profile_shapes(part, build.max_sequences)
    return shlex.split(trtexec_command(plan, shapes, build, folder))


def test_strongly_typed_int8_encoder(folder):
    assert line_for(folder, "encoder", "int8", typed=True) == [
        "trtexec", f"--onnx={folder}/encoder.int8.typed.onnx",
        f"--saveEngine={folder}/encoder.int8.engine",
        "--minShapes=frames:1x3x160x96", "--optShapes=frames:16x3x160x96",
        "--maxShapes=frames:256x3x160x96", "--memPoolSize=workspace:1024M", "--stronglyTyped",
        f"--timingCacheFile={folder}/timing.cache",
    ]


def test_weakly_typed_int8_encoder_sets_both_precision_flags(folder):
    line = line_for(folder, "encoder", "int8", typed=False, workspace_mb=512)
    assert line[1] == f"--onnx={folder}/encoder.int8.onnx"
    assert "--stronglyTyped" not in line
    assert line[6:9] == ["--memPoolSize=workspace:512M", "--fp16", "--int8"]


@pytest.mark.parametrize(("precision", "typed", "flags"), [
    ("fp32", False, []), ("fp16", False, ["--fp16"]), ("fp16", True, ["--stronglyTyped"]),
    ("int8", False, ["--fp16"]),  # the GRU head is never quantized
])
def test_head_line_has_both_inputs_and_the_plan_flags(folder, precision, typed, flags):
    line = line_for(folder, "head", precision, typed=typed, max_sequences=8,
                    timing_cache=False)
    assert line[3:6] == ["--minShapes=embeddings:1x16x256,mask:1x16",
                         "--optShapes=embeddings:1x16x256,mask:1x16",
                         "--maxShapes=embeddings:8x16x256,mask:8x16"]
    assert line[7:] == flags  # and no timing cache


def test_calibration_cache_line_reads_the_cache_with_the_fp32_graph(folder):
    line = line_for(folder, "encoder", "int8", typed=True, use_calibration_cache=True)
    assert line[1] == f"--onnx={folder}/encoder.onnx"
    assert {"--fp16", "--int8", f"--calib={folder}/calibration.cache"} <= set(line)
    assert "--stronglyTyped" not in line


def test_paths_with_spaces_survive_the_shell(tmp_path):
    folder = artifacts_in(tmp_path / "my artifacts")
    line = line_for(folder, "encoder", "fp16", typed=True)
    assert line[1] == f"--onnx={folder}/encoder.fp16.onnx"


def test_print_trtexec_builds_nothing_and_needs_no_tensorrt(folder):
    result = subprocess.run(
        [sys.executable, "-m", "jersey_edge", "build-engine", "--artifacts",
         str(folder), "--precision", "fp16", "--precision", "int8", "--max-sequences", "4",
         "--print-trtexec"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    typed = trtexec_commands(folder, "fp16", BuildOptions(max_sequences=4), strongly_typed=True)
    assert lines[:2] == typed and len(lines) == 4
    assert all(line.startswith("trtexec --onnx=") for line in lines)
    assert "--maxShapes=frames:64x3x160x96" in lines[0]
    assert not list(folder.glob("*.engine"))


def test_print_trtexec_refuses_bad_options_like_a_build(folder):
    with pytest.raises(InputError):
        trtexec_commands(folder, "int8", BuildOptions(parts=()), strongly_typed=True)


def record_for(folder: Path, part: str, **options) -> EngineRecord:
    build = BuildOptions(**options)
    plan = plan_engine(part, "int8", strongly_typed=False)
    return engine_record(plan, load_manifest(folder).profile_shapes(part, build.max_sequences),
                         build, tensorrt_version="8.6.2.3", gpu=ORIN,
                         built="2026-01-02T03:04:05+00:00", seconds=41.27)


def test_engine_record_says_how_the_engine_was_built(folder):
    record = record_for(folder, "encoder", max_sequences=2, workspace_mb=256)
    assert record == EngineRecord(
        part="encoder", precision="int8", graph="encoder.int8.onnx", tensorrt="8.6.2.3",
        gpu="Orin", compute_capability="8.7", strongly_typed=False, flags=["fp16", "int8"],
        calibration_cache=False,
        profile={"frames": {"min": [1, 3, 160, 96], "opt": [16, 3, 160, 96],
                            "max": [32, 3, 160, 96]}},
        workspace_mb=256, timing_cache=True, built="2026-01-02T03:04:05+00:00", seconds=41.3)


def test_engine_records_round_trip_through_the_manifest(folder):
    encoder = record_for(folder, "encoder")
    (folder / "encoder.int8.engine").write_bytes(b"engine bytes")
    add_files(folder, engines={"encoder.int8.engine": encoder})
    manifest = load_manifest(folder)
    assert manifest.engines == {"encoder.int8.engine": encoder}
    manifest.verify("encoder.int8.engine")  # listed and hashed in the same write

    head = record_for(folder, "head")
    (folder / "head.int8.engine").write_bytes(b"head engine")
    add_files(folder, engines={"head.int8.engine": head})
    rebuilt = record_for(folder, "encoder", workspace_mb=2048)
    (folder / "encoder.int8.engine").write_bytes(b"rebuilt engine")
    add_files(folder, engines={"encoder.int8.engine": rebuilt})
    add_files(folder, ["calibration.cache"])  # other additions keep the section
    manifest = load_manifest(folder)
    assert manifest.engines == {"encoder.int8.engine": rebuilt, "head.int8.engine": head}
    assert manifest.verify("encoder.int8.engine").read_bytes() == b"rebuilt engine"


def test_a_record_of_an_unlisted_engine_is_not_shown(folder):
    data = json.loads((folder / MANIFEST).read_text())
    data[ENGINES] = {"fp16.engine.gone": record_for(folder, "head").to_json()}
    (folder / MANIFEST).write_text(json.dumps(data))
    assert load_manifest(folder).engines == {}


@pytest.mark.parametrize("section", [
    [], {"encoder.int8.engine": {"part": "encoder"}},
    {"encoder.int8.engine": {**EngineRecord("encoder", "int8", "g", "10", "gpu", "9.0", True, [],
                                            False, {}, 1, True, "now", 1.0).to_json(),
                             "workspace_mb": "1024"}},
])
def test_a_malformed_engines_section_is_an_artifact_error(folder, section):
    data = json.loads((folder / MANIFEST).read_text())
    data[ENGINES] = section
    (folder / MANIFEST).write_text(json.dumps(data))
    with pytest.raises(ArtifactError, match="manifest.json"):
        _ = load_manifest(folder).engines


def test_bench_shows_the_engines_in_its_header(folder, tmp_path):
    (folder / "encoder.int8.engine").write_bytes(b"engine bytes")
    add_files(folder, engines={"encoder.int8.engine": record_for(folder, "encoder")})
    report = BenchReport(system={"cpu": "Test CPU", "usable_cores": 2, "gpu": "Orin"}, rows=[],
                         engines=engine_records(load_manifest(folder)))
    expected = ("encoder.int8.engine: TensorRT 8.6.2.3 on Orin (compute 8.7), weakly typed "
                "(fp16, int8), batch frames 1-256 (opt 16), workspace 1024 MiB, built "
                "2026-01-02T03:04:05+00:00")
    assert str(render_table(report).title).splitlines()[1] == expected
    markdown = write_markdown(report, tmp_path / "bench.md").read_text()
    assert f"## TensorRT engines\n\n- {expected}\n" in markdown
    assert report.to_dict()["engines"]["encoder.int8.engine"]["tensorrt"] == "8.6.2.3"


def test_a_build_logs_its_trtexec_line_and_records_each_engine(folder, monkeypatch, caplog):
    """build_engines with TensorRT's own calls stubbed: the wiring, not TensorRT."""
    from jersey_edge.runtime.backends.tensorrt import build, compat

    monkeypatch.setattr(compat, "require_tensorrt", lambda: None)
    monkeypatch.setattr(compat, "strongly_typed_available", lambda: True)
    monkeypatch.setattr(build, "_build", lambda *args, **kwargs: b"engine")
    monkeypatch.setattr(build, "_build_device", lambda: ("10.3.0.30", ORIN))
    options = BuildOptions(max_sequences=4, timing_cache=False)
    with caplog.at_level("INFO", logger=build.__name__):
        build.build_engines(folder, precision="fp16", options=options)
    expected = trtexec_commands(folder, "fp16", options, strongly_typed=True)
    prefix = "the same engine with trtexec: "
    assert [r.getMessage() for r in caplog.records if r.getMessage().startswith(prefix)] == [
        prefix + line for line in expected]
    records = load_manifest(folder).engines
    assert sorted(records) == ["encoder.fp16.engine", "head.fp16.engine"]
    head = records["head.fp16.engine"]
    assert (head.graph, head.tensorrt, head.gpu, head.strongly_typed, head.flags) == (
        "head.fp16.onnx", "10.3.0.30", "Orin", True, [])
    assert head.profile["mask"] == {"min": [1, 16], "opt": [1, 16], "max": [4, 16]}
