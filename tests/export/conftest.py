"""Shared by the Triton tests: the runtime's reading of the tiny export, to compare with."""

import pytest

from jersey_edge.runtime import Recognizer


@pytest.fixture(scope="module")
def recognizer(exported):
    with Recognizer.load(exported.out, backend="onnxruntime", precision="fp32",
                         threads=1) as rec:
        yield rec
