"""The whole package type-checks with mypy under the project's settings (pyproject.toml).

A wrong argument type or an attribute a library does not have is caught here, not by a
user. The TensorRT modules are also checked, more strictly, against NVIDIA's API in
tests/runtime/test_tensorrt_typecheck.py.
"""

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.skipif(importlib.util.find_spec("mypy") is None, reason="mypy is not installed")
def test_package_typechecks(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--cache-dir", str(tmp_path / "cache"), "jersey_edge"],
        cwd=ROOT, capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
