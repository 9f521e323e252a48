"""A real, tiny JerseyNet exported by the export pipeline, with its checkpoint and dataset.

The benchmark is tested on the same kind of folder users bench: FP32/FP16/INT8 graphs that
`export_model` wrote from the model code (EfficientNet-Lite0 + bi-GRU head, untrained, at
64x32 pixels and 4 frames), golden.npz with PyTorch logits, and manifest.json naming the
checkpoint, whose run folder holds the test split of the shared tiny dataset.
"""

import json
import shutil
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from jersey_edge.export.pipeline import export_model  # noqa: E402
from jersey_edge.model.config import ModelConfig  # noqa: E402
from jersey_edge.model.net import build_model, save_checkpoint  # noqa: E402
from jersey_edge.runtime.artifacts import MANIFEST, write_manifest  # noqa: E402
from jersey_edge.runtime.preprocess import PreprocessConfig  # noqa: E402

CFG = ModelConfig(pretrained=False, embed_dim=32, hidden=16, attn_dim=8)
PRE = PreprocessConfig(height=64, width=32)
MAX_FRAMES = 4
GOLDEN_SIZE = 3


@pytest.fixture(scope="session")
def fast_options() -> dict:
    """What every bench run in the tests passes: fast, and never asserted on wall-clock."""
    return dict(batches=(1, 2), frames=MAX_FRAMES, warmup_s=0.05, duration_s=0.1,
                progress=False)


@pytest.fixture(scope="session")
def artifacts(tmp_path_factory: pytest.TempPathFactory, tiny_dataset: Path) -> Path:
    """FP32, FP16 and INT8 graphs + golden.npz + manifest.json (naming the checkpoint)."""
    torch.manual_seed(0)
    run = tmp_path_factory.mktemp("bench_run")
    checkpoint = save_checkpoint(
        run / "best.pt", model_state=build_model(CFG).eval().state_dict(), model_cfg=CFG,
        preprocess=PRE, max_frames=MAX_FRAMES,
        extra={"data_root": str(tiny_dataset), "train_config": {"seed": 0}})
    export_model(checkpoint, run / "artifacts", fp16=True, int8=True, calib_size=16,
                 golden_size=GOLDEN_SIZE, progress=False)
    return run / "artifacts"


@pytest.fixture
def copied_artifacts(artifacts: Path, tmp_path: Path) -> Path:
    """The folder as copied to another machine: the checkpoint it names does not exist there."""
    copy = tmp_path / "device-artifacts"
    shutil.copytree(artifacts, copy)
    data = json.loads((copy / MANIFEST).read_text())
    data["checkpoint"] = str(tmp_path / "elsewhere" / "best.pt")
    body = {k: v for k, v in data.items() if k not in ("schema_version", "files")}
    write_manifest(copy, body, sorted(data["files"]))
    return copy
