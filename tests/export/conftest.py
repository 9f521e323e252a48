"""One tiny export per test session: an untrained Lite0 at 64x32, max_frames=4, on the shared
tiny dataset, exported with FP16 and INT8. Tests only read what it wrote."""

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest
import torch

from jersey_edge.export.pipeline import export_model
from jersey_edge.export.report import ExportReport
from jersey_edge.model.config import ModelConfig
from jersey_edge.model.net import JerseyNet, build_model, load_checkpoint, save_checkpoint
from jersey_edge.runtime.preprocess import PreprocessConfig
from jersey_edge.train.config import TrainConfig

TINY = PreprocessConfig(height=64, width=32)
MAX_FRAMES = 4


@dataclass
class Exported:
    report: ExportReport
    out: Path
    checkpoint: Path
    data_root: Path
    model: JerseyNet
    preprocess: PreprocessConfig = TINY
    max_frames: int = MAX_FRAMES


def make_checkpoint(folder: Path, data_root: Path, *, record_data_root: bool = True) -> Path:
    """An untrained Lite0 (no ImageNet weights) at 64x32 with max_frames=4."""
    torch.manual_seed(0)
    cfg = ModelConfig(pretrained=False)
    model = build_model(cfg).eval()
    extra = {"train_config": TrainConfig(seed=3).to_dict()}
    if record_data_root:
        extra["data_root"] = str(data_root)
    return save_checkpoint(folder / "best.pt", model_state=model.state_dict(), model_cfg=cfg,
                           preprocess=TINY, max_frames=MAX_FRAMES, extra=extra)


@pytest.fixture
def tiny_checkpoint() -> Callable[..., Path]:
    """make_checkpoint(folder, data_root, *, record_data_root=True) -> best.pt path."""
    return make_checkpoint


@pytest.fixture(scope="session")
def exported(tiny_dataset: Path, tmp_path_factory: pytest.TempPathFactory) -> Exported:
    run = tmp_path_factory.mktemp("export_run")
    checkpoint = make_checkpoint(run, tiny_dataset)
    out = run / "artifacts"
    report = export_model(checkpoint, out, fp16=True, int8=True, calib_size=16, golden_size=4,
                          progress=False)
    return Exported(report=report, out=out, checkpoint=checkpoint, data_root=tiny_dataset,
                    model=load_checkpoint(checkpoint).model)
