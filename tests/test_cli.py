import subprocess
import sys
from pathlib import Path
from typing import Any, List, Tuple

import pytest
from typer.testing import CliRunner

from jersey_edge.cli import app
from tests.test_bad_inputs import assert_one_line_error, cli

COMMANDS = ("data", "train", "evaluate", "export", "bench", "predict")


def test_help_lists_the_contract_commands():
    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in COMMANDS:
        assert command in result.output


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "jersey_edge", *args],
                          capture_output=True, text=True, timeout=120)


def test_library_errors_are_one_line_and_exit_2(tmp_path):
    result = run_cli("predict", str(tmp_path / "missing"), "--artifacts", str(tmp_path))
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert result.stderr.startswith("error: ")
    assert "Traceback" not in result.stderr


# build-engine and export --engine: typer options straight into build_engines (no second
# parser, no argv strings); TensorRT's own calls are never reached here.


@pytest.fixture
def builds(monkeypatch) -> List[Tuple[Path, str, Any]]:
    """Every build_engines call, as (artifacts, precision, options); writes nothing."""
    from jersey_edge.runtime.backends.tensorrt import build

    calls: List[Tuple[Path, str, Any]] = []

    def build_engines(artifacts, *, precision, options=None):
        options = options or build.BuildOptions()
        calls.append((Path(artifacts), precision, options))
        return [Path(artifacts) / f"{part}.{precision}.engine" for part in options.parts]

    monkeypatch.setattr(build, "build_engines", build_engines)
    return calls


def test_build_engine_options_reach_build_engines(builds, capsys, tmp_path):
    from jersey_edge.runtime.backends.tensorrt.build import BuildOptions

    code, out, err = cli(capsys, "build-engine", "--artifacts", str(tmp_path), "--precision",
                         "fp32", "--precision=int8", "--max-sequences", "4", "--workspace-mb",
                         "256", "--parts", " head ,", "--no-timing-cache", "--calibration-cache")
    assert code == 0, err
    options = BuildOptions(max_sequences=4, workspace_mb=256, timing_cache=False,
                           parts=("head",), use_calibration_cache=True)
    assert builds == [(tmp_path, "fp32", options), (tmp_path, "int8", options)]
    assert out.splitlines() == [f"wrote {tmp_path / 'head.fp32.engine'}",
                                f"wrote {tmp_path / 'head.int8.engine'}"]


def test_build_engine_defaults(builds, capsys, monkeypatch):
    from jersey_edge.runtime.backends.tensorrt.build import BuildOptions

    monkeypatch.chdir(Path(__file__).parent)
    assert cli(capsys, "build-engine")[0] == 0
    assert builds == [(Path("artifacts"), "fp16", BuildOptions())]


@pytest.mark.parametrize(("args", "words"), [
    (("--precision", "fp64"), ("--precision", "fp64")),
    (("--max-sequences", "many"), ("--max-sequences", "integer")),
    (("--dla-core", "0"), ("--dla-core",)),  # gone, as before: no silent GPU engines
])
def test_build_engine_usage_errors_are_one_line_and_exit_2(builds, capsys, args, words):
    code, out, err = cli(capsys, "build-engine", *args)
    assert_one_line_error(code, err, *words, "build-engine --help")
    assert builds == [] and out == ""


def test_build_engine_library_errors_are_one_line_and_exit_2(capsys, tmp_path):
    code, out, err = cli(capsys, "build-engine", "--artifacts", str(tmp_path / "nowhere"))
    assert_one_line_error(code, err, "artifacts folder")


def test_export_engine_builds_each_exported_precision(builds, capsys, tmp_path, monkeypatch):
    from jersey_edge.core.preprocess import PreprocessConfig
    from jersey_edge.export import pipeline
    from jersey_edge.runtime.backends.tensorrt.build import BuildOptions
    from jersey_edge.runtime.manifest import Manifest, write_manifest

    out = tmp_path / "artifacts"
    out.mkdir()
    write_manifest(Manifest(out, model={"embed_dim": 8}, preprocess=PreprocessConfig(),
                            labels={}, max_frames=4), [])
    exported = pipeline.ExportReport(out=out, files={}, parity=[], seconds=0.0)
    monkeypatch.setattr(pipeline, "export_model", lambda *args, **kwargs: exported)
    code, stdout, err = cli(capsys, "export", "--out", str(out), "--fp16", "--int8", "--engine")
    assert code == 0, err
    assert builds == [(out, precision, BuildOptions()) for precision in ("fp32", "fp16", "int8")]
    assert [line for line in stdout.splitlines() if line.startswith("wrote ")][-6:] == [
        f"wrote {out / f'{part}.{precision}.engine'}"
        for precision in ("fp32", "fp16", "int8") for part in ("encoder", "head")]


def test_the_build_module_is_no_second_command_line():
    from jersey_edge.runtime.backends.tensorrt import build

    for gone in ("build_parser", "parse_build_args", "run_build", "main", "BuildRequest"):
        assert not hasattr(build, gone), gone
