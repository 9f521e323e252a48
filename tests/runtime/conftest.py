"""Shared by the runtime tests: one recognizer on the tiny export, and a few of its frames."""

import pytest

from jersey_edge.data.discovery import discover
from jersey_edge.runtime import Recognizer


@pytest.fixture(scope="module")
def rec(exported):
    with Recognizer.load(exported.out, backend="onnxruntime", threads=1) as recognizer:
        yield recognizer


@pytest.fixture(scope="module")
def frames(exported):
    """Eight distinct frames (two sequences) of the tiny dataset."""
    records = discover(exported.data_root).records
    return list(records[0].frames) + list(records[3].frames)
