"""Every TensorRT name the code can reach exists in each release it supports (8.6 for
JetPack 6.0, 10.3 for JetPack 6.1/6.2, 10.13, 11.4), checked against the real bindings
from PyPI; and the check does catch a misspelt or version-wrong call."""

import functools
import os
from pathlib import Path

import pytest

from tests.tools import tensorrt_api

CACHE = Path(os.environ.get("JERSEY_EDGE_TRT_BINDINGS",
                            Path.home() / ".cache" / "jersey-edge" / "tensorrt-bindings"))

pytestmark = pytest.mark.network


@functools.lru_cache(maxsize=None)  # one download attempt per release and run
def _wheel(release):
    return tensorrt_api.download(tensorrt_api.RELEASES[release], CACHE)


def _binds(release):
    wheel = _wheel(release)
    if wheel is None:
        pytest.skip(f"PyPI not reachable: cannot download {tensorrt_api.RELEASES[release]}")
    return tensorrt_api.bound_names(wheel)


@pytest.fixture(scope="module")
def used():
    return tensorrt_api.used_names(tensorrt_api.TENSORRT_MODULES)


@pytest.mark.parametrize("release", sorted(tensorrt_api.RELEASES))
def test_every_reachable_name_is_bound(release, used):
    assert {"create_network", "execute_async_v3", "set_input_shape", "Builder"} <= set(used)
    assert tensorrt_api.missing(release, _binds(release), used) == {}


def test_a_misspelt_or_version_wrong_call_is_caught(tmp_path, used):
    module = tmp_path / "wrong.py"
    module.write_text("def run(trt, builder, context):\n"
                      "    builder.create_netwrk(0)\n"
                      "    context.execute_async_v2([], 0)\n")
    wrong = tensorrt_api.used_names([module])
    assert {"create_netwrk", "execute_async_v2"} <= set(wrong)
    assert set(tensorrt_api.missing((8, 6, 1), _binds((8, 6, 1)), wrong)) == {"create_netwrk"}
    assert set(tensorrt_api.missing((10, 3, 0), _binds((10, 3, 0)), wrong)) == {
        "create_netwrk", "execute_async_v2"}


def test_guarded_names_are_only_required_where_the_code_reaches_them(used):
    assert tensorrt_api.missing((11, 4, 0), lambda name: name != "IInt8EntropyCalibrator2",
                                used) == {}
    assert "IInt8EntropyCalibrator2" in tensorrt_api.missing(
        (10, 3, 0), lambda name: name != "IInt8EntropyCalibrator2", used)
