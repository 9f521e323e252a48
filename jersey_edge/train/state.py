"""What a run keeps across restarts: last.pt, the checkpoint to resume or fine-tune from, and
the learning-rate schedule that a resumed run must continue on."""

import logging
import math
from dataclasses import replace
from pathlib import Path
from typing import Any, Dict, List, Optional

import torch
from timm.utils import ModelEmaV3

from ..core.errors import CheckpointError, InputError
from ..core.preprocess import PreprocessConfig
from ..model.config import ModelConfig
from ..model.net import LoadedCheckpoint, load_checkpoint, save_checkpoint
from .config import TrainConfig
from .losses import FrameDigitHead

log = logging.getLogger("jersey_edge")

BEST = "best.pt"
LAST = "last.pt"
RESUME_KEYS = ("model_state", "ema_state", "frame_head_state", "optimizer", "scheduler",
               "torch_rng", "history", "train_config", "model_config")


def warmup_cosine(optimizer: torch.optim.Optimizer, *, warmup_steps: int,
                  total_steps: int) -> torch.optim.lr_scheduler.LambdaLR:
    def factor(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / warmup_steps
        progress = (step - warmup_steps) / max(1, total_steps - warmup_steps)
        return 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def save_last(save_dir: Path, model: torch.nn.Module, frame_head: Optional[FrameDigitHead],
               ema: ModelEmaV3,
               optimizer: torch.optim.Optimizer, scheduler: Any, config: TrainConfig,
               model_config: ModelConfig, preprocess: PreprocessConfig,
               history: List[Dict[str, Any]], data_root: Path,
               init_record: Dict[str, Any]) -> None:
    """last.pt: EMA weights as the model (exportable) plus everything --resume needs."""
    save_checkpoint(save_dir / LAST, model_state=ema.module.state_dict(), model_cfg=model_config,
                    preprocess=preprocess, max_frames=config.max_frames,
                    extra={"model_state": model.state_dict(), "ema_state": ema.module.state_dict(),
                           "frame_head_state": (frame_head.state_dict()
                                                if frame_head is not None else {}),
                           "optimizer": optimizer.state_dict(),
                           "scheduler": scheduler.state_dict(),
                           "torch_rng": torch.get_rng_state(), "history": history,
                           "train_config": config.to_dict(),
                           "model_config": model_config.to_dict(), **init_record,
                           "data_root": str(Path(data_root).resolve())})


def init_checkpoint(init: str, model_config: Optional[ModelConfig],
                     preprocess: Optional[PreprocessConfig]) -> LoadedCheckpoint:
    """The checkpoint to fine-tune; its architecture and preprocessing are the run's."""
    if model_config is not None or preprocess is not None:
        raise InputError(f"init {init}: fine-tuning keeps that checkpoint's architecture and "
                         "preprocessing, so give no model or preprocessing config with it")
    loaded = load_checkpoint(init)
    log.info("fine-tuning %s (sha256 %s...)", init, loaded.sha256[:12])
    return loaded


def resume_checkpoint(save_dir: Path) -> LoadedCheckpoint:
    """last.pt, refused unless it holds the training state (a copied best.pt does not)."""
    path = save_dir / LAST
    if not path.exists():
        raise CheckpointError(f"cannot resume: {path} does not exist; train from the start first")
    loaded = load_checkpoint(path)
    missing = [key for key in RESUME_KEYS if key not in loaded.extra]
    if missing:
        raise CheckpointError(
            f"{path} has no optimizer state ({', '.join(missing)} missing): it holds a model "
            f"only, as {BEST} does, so training cannot continue from it; restore the run's own "
            f"{LAST}, or train from the start in a new folder")
    return loaded


def resumed_config(state: Dict[str, Any], epochs: Optional[int]) -> TrainConfig:
    """The saved recipe; `epochs`, if given, as the new total (never below what has run)."""
    config = TrainConfig.from_dict(state["train_config"])
    done = len(state["history"])
    if epochs is None:
        return config
    if epochs < done:
        raise InputError(f"this run has already trained {done} epochs, so it cannot stop at "
                         f"{epochs}; ask for {done} or more, or train a new run in another "
                         "folder")
    return replace(config, epochs=epochs)


def restore_schedule(optimizer: torch.optim.Optimizer, scheduler: Any,
                      state: Dict[str, Any]) -> None:
    """Optimizer state and step count from last.pt into a schedule built for this run's
    total: with a larger total, the learning rate follows the new curve from the next step
    (the one a run planned for that total from the start would have)."""
    optimizer.load_state_dict(state["optimizer"])
    scheduler.load_state_dict(state["scheduler"])
    for group, base_lr, factor in zip(optimizer.param_groups, scheduler.base_lrs,
                                      scheduler.lr_lambdas):
        group["lr"] = base_lr * factor(scheduler.last_epoch)
