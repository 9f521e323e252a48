"""Which typing each TensorRT release builds with, and the flags that follow from it.

The stand-in modules mirror what the real bindings hold (read from the wheels with
tests/tools/tensorrt_api.py): 8.6.1 binds no STRONGLY_TYPED, 10.3 both typings, 11.4 no
EXPLICIT_BATCH and no implicit calibrator, and TensorRT 11 took away the precision flags.
"""

import sys
import types

import pytest

from jersey_edge.runtime.backends.tensorrt import compat

EXPLICIT_BATCH, STRONGLY_TYPED = 0, 1


def release(version: str, *, strongly_typed: bool, builder_flags: bool) -> types.ModuleType:
    trt = types.ModuleType("tensorrt")
    trt.__version__ = version
    creation = {"EXPLICIT_BATCH": EXPLICIT_BATCH}
    if strongly_typed:
        creation["STRONGLY_TYPED"] = STRONGLY_TYPED
    trt.NetworkDefinitionCreationFlag = types.SimpleNamespace(**creation)
    trt.BuilderFlag = types.SimpleNamespace(**({"FP16": 0, "INT8": 1} if builder_flags else {}))
    return trt


RELEASES = {
    "8.6.1": release("8.6.1", strongly_typed=False, builder_flags=True),
    "10.3.0": release("10.3.0", strongly_typed=True, builder_flags=True),
    "11.4.0": release("11.4.0", strongly_typed=True, builder_flags=False),
}


@pytest.mark.parametrize(("version", "typed", "flags"), [
    ("8.6.1", False, 1 << EXPLICIT_BATCH),  # 8.x: weakly typed, explicit batch required
    ("10.3.0", True, 1 << STRONGLY_TYPED),  # explicit batch is the only mode from 10 on
    ("11.4.0", True, 1 << STRONGLY_TYPED),
])
def test_every_release_with_strong_typing_builds_strongly(monkeypatch, version, typed, flags):
    monkeypatch.setitem(sys.modules, "tensorrt", RELEASES[version])
    assert compat.strongly_typed_available() is typed
    assert compat.network_flags(strongly_typed=typed) == flags


def test_weak_build_on_10_keeps_explicit_batch_off(monkeypatch):
    """The calibration-cache path on 10.x: weakly typed, no creation flag at all."""
    monkeypatch.setitem(sys.modules, "tensorrt", RELEASES["10.3.0"])
    assert compat.network_flags(strongly_typed=False) == 0
    assert compat.implicit_calibration_available() is False  # the stand-in has no calibrator


def test_an_11_without_the_redundant_flag_still_counts_as_strongly_typed(monkeypatch):
    trt = release("11.9.0", strongly_typed=False, builder_flags=False)
    monkeypatch.setitem(sys.modules, "tensorrt", trt)
    assert compat.strongly_typed_available()
    assert compat.network_flags(strongly_typed=True) == 0  # every network is strong there
