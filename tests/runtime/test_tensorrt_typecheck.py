"""The TensorRT-facing modules type-check against the real TensorRT API (tensorrt-stubs).

There is no TensorRT on development machines, so this is how a misspelt method, a wrong
argument type or an API that does not exist is caught before the code reaches a Jetson.
The stubs are patched on a private copy first (see tests/tools/mypy_trt.py).
"""

import ast
import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]
TRT_MODULES = [
    "jersey_edge/runtime/backends/tensorrt/__init__.py",
    "jersey_edge/runtime/backends/tensorrt/build.py",
    "jersey_edge/runtime/backends/tensorrt/calibration_cache.py",
    "jersey_edge/runtime/backends/tensorrt/compat.py",
    "jersey_edge/runtime/backends/tensorrt/network.py",
    "jersey_edge/runtime/backends/tensorrt/session.py",
]


def load_helper() -> ModuleType:
    spec = importlib.util.spec_from_file_location("mypy_trt", ROOT / "tests/tools/mypy_trt.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


mypy_trt = load_helper()
pytestmark = [
    pytest.mark.skipif(mypy_trt.stub_roots() is None, reason="tensorrt-stubs is not installed"),
    pytest.mark.skipif(importlib.util.find_spec("mypy") is None, reason="mypy is not installed"),
]


@pytest.fixture(scope="module")
def stubs(tmp_path_factory) -> Path:
    return mypy_trt.prepare_stubs(tmp_path_factory.mktemp("trt-stubs"))


def test_patched_stubs_parse(stubs):
    files = sorted(stubs.rglob("*.pyi"))
    assert files
    for stub in files:
        ast.parse(stub.read_text(encoding="utf-8"), filename=str(stub))


def test_patch_repairs_only_what_is_broken():
    patch = mypy_trt.patch_signature
    assert patch("    def f(self, in: list[int], out: int) -> int:") == (
        "    def f(self, in_: list[int], out: int) -> int:"
    )
    assert patch("    def g(self, a: W = None, b: int) -> X:") == (
        "    def g(self, a: W = None, b: int = ...) -> X:"
    )
    untouched = "    def h(self, a: D[str, int] = {'x, y': 1}, *, b: int, **kw: int) -> None:"
    assert patch(untouched) == untouched
    assert mypy_trt.patch_line("bool: DataType  # value").startswith("# bool: DataType")


def test_tensorrt_modules_typecheck(stubs, tmp_path):
    result = mypy_trt.run_mypy(TRT_MODULES, stubs, tmp_path, cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr


def test_typecheck_catches_api_mistakes(stubs, tmp_path):
    """The check has teeth: a misspelt method and a tuple where TensorRT wants Dims."""
    sample = tmp_path / "wrong_api.py"
    sample.write_text(
        "import tensorrt as trt\n"
        "\n"
        "\n"
        "def build(builder: trt.Builder, network: trt.INetworkDefinition,\n"
        "          config: trt.IBuilderConfig) -> None:\n"
        "    builder.build_serialised_network(network, config)\n"
        "    profile = builder.create_optimization_profile()\n"
        "    profile.set_shape('frames', (1, 3), (1, 3), (1, 3))\n"
    )
    result = mypy_trt.run_mypy([str(sample)], stubs, tmp_path)
    assert result.returncode == 1
    assert '"Builder" has no attribute "build_serialised_network"' in result.stdout
    assert 'Argument 2 to "set_shape"' in result.stdout
