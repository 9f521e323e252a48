"""A real, tiny JerseyNet exported by the export pipeline, with its checkpoint and dataset.

The benchmark is tested on the same kind of folder users bench: FP32/FP16/INT8 graphs that
`export_model` wrote from the model code (EfficientNet-Lite0 + bi-GRU head, untrained, at
64x32 pixels and 4 frames), golden.npz with PyTorch logits, and manifest.json naming the
checkpoint, whose run folder holds the test split of the shared tiny dataset.
"""

import dataclasses
import shutil
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from jersey_edge.runtime.manifest import load_manifest, write_manifest  # noqa: E402

MAX_FRAMES = 4
GOLDEN_SIZE = 4


@pytest.fixture(scope="session")
def fast_options() -> dict:
    """What every bench run in the tests passes: fast, and never asserted on wall-clock."""
    return dict(batches=(1, 2), frames=MAX_FRAMES, warmup_s=0.05, duration_s=0.1,
                progress=False)


@pytest.fixture(scope="session")
def artifacts(exported) -> Path:
    """The shared tiny export: FP32/FP16/INT8 graphs, golden.npz, manifest naming the checkpoint."""
    return exported.out


@pytest.fixture
def copied_artifacts(artifacts: Path, tmp_path: Path) -> Path:
    """The folder as copied to another machine: the checkpoint it names does not exist there."""
    copy = tmp_path / "device-artifacts"
    shutil.copytree(artifacts, copy)
    manifest = load_manifest(copy)
    elsewhere = str(tmp_path / "elsewhere" / "best.pt")
    write_manifest(dataclasses.replace(manifest, checkpoint=elsewhere), sorted(manifest.files))
    return copy
