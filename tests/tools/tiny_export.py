"""The tiny export the tests share: an untrained Lite0 at 64x32 with max_frames=4, exported
with FP16 and INT8 from the shared tiny dataset. Needs torch.

Run as `python -m tests.tools.tiny_export DIR` to write DIR/data, DIR/run/best.pt and
DIR/run/artifacts, which the torch-free test run reads (see tests/conftest.py).
"""

import sys
from pathlib import Path

import torch

from jersey_edge.export.pipeline import ExportOptions, export_model
from jersey_edge.model.config import ModelConfig
from jersey_edge.model.net import build_model, load_checkpoint, save_checkpoint
from jersey_edge.train.config import TrainConfig
from tests.conftest import MAX_FRAMES, TINY, Exported, write_fake_dataset


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


def export_tiny(run: Path, data_root: Path) -> Exported:
    """Checkpoint in `run`, artifacts in `run`/artifacts."""
    checkpoint = make_checkpoint(run, data_root)
    out = run / "artifacts"
    report = export_model(checkpoint, out, options=ExportOptions(
        fp16=True, int8=True, calib_size=16, golden_size=4, progress=False))
    return Exported(report=report, out=out, checkpoint=checkpoint, data_root=data_root,
                    model=load_checkpoint(checkpoint).model)


def main(root: Path) -> None:
    data_root = write_fake_dataset(root / "data", layout="B")
    (root / "run").mkdir(parents=True)
    export_tiny(root / "run", data_root)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
