"""What the README's Jetson steps rely on, checked in whichever venv runs this (`make test`
runs it again in the torch-free device venv, installed as the README says): `~` in paths,
and `jersey-edge bench --backends onnxruntime` from the console script."""

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

from jersey_edge.runtime.manifest import load_manifest


def test_a_home_relative_folder_loads(exported, monkeypatch):
    monkeypatch.setenv("HOME", str(exported.out.parent))
    manifest = load_manifest(f"~/{exported.out.name}")
    assert manifest.root.resolve() == exported.out.resolve()


def test_bench_runs_from_the_console_script(exported, tmp_path):
    script = Path(sys.executable).with_name("jersey-edge")
    if not script.exists():
        pytest.skip("jersey-edge is not installed in this environment")
    out = tmp_path / "bench.json"
    done = subprocess.run(
        [str(script), "bench", "--artifacts", str(exported.out), "--backends", "onnxruntime",
         "--batch", "1", "--warmup", "0", "--duration", "0.2", "--json", str(out)],
        capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(out.read_text())
    backends = {row["backend"] for row in report["rows"]}
    assert "onnxruntime" in backends and report["streaming"] and report["decode_path"]
    if importlib.util.find_spec("torch") is None:
        assert backends == {"onnxruntime"}
        assert any("torch not installed" in note for note in report["notes"])
