"""The training loop: one epoch at a time, every epoch checkpointed so a kill loses at most one."""

import logging
import random
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple

import numpy as np
import torch
from timm.utils import ModelEmaV3
from torch import nn
from tqdm import tqdm

from ..core.errors import InputError, JerseyEdgeError
from ..core.preprocess import PreprocessConfig
from ..model.config import ModelConfig
from ..model.net import (
    JerseyNet,
    build_model,
    save_checkpoint,
)
from .config import TrainConfig
from .data import TrainData, load_train_data
from .distributed import DistContext, distributed_context
from .inference import autocast, collect_logits, embed_batch
from .losses import FrameDigitHead, attention_loss, frame_weights
from .plots import write_history
from .state import (
    BEST,
    LAST,
    init_checkpoint,
    restore_schedule,
    resume_checkpoint,
    resumed_config,
    save_last,
    warmup_cosine,
)

log = logging.getLogger("jersey_edge")

IMAGENET = "imagenet"  # `init`: the backbone's ImageNet weights, everything else fresh
# What last.pt holds beyond the model for resuming; best.pt (a model only) has none of it.
# Non-finite losses in a row that stop training: one bad batch is skipped, a diverged run
# would only skip forever.
MAX_NONFINITE_STEPS = 3


class TrainingError(JerseyEdgeError):
    """Training diverged (non-finite losses) and was stopped."""


@dataclass
class TrainResult:
    save_dir: Path
    best_epoch: int
    best_val_acc: float
    epochs_run: int
    seconds: float
    history: List[Dict[str, Any]] = field(default_factory=list)
    main_process: bool = True  # rank 0 of a torchrun run, or the only process


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise InputError("device cuda: no CUDA GPU is visible to torch; train on the cpu device")
    if name not in ("cpu", "cuda"):
        raise InputError(f"device must be auto, cpu or cuda, got {name!r}")
    return torch.device(name)


def train(data_root: Path, save_dir: Path, *, config: TrainConfig,
          model_config: Optional[ModelConfig] = None,
          preprocess: Optional[PreprocessConfig] = None,
          init: str = IMAGENET, resume: bool = False, epochs: Optional[int] = None,
          workers: Optional[int] = None, device: str = "auto", progress: bool = True,
          on_epoch: Optional[Callable[[str], None]] = None) -> TrainResult:
    """Train on `data_root`, writing best.pt, last.pt, history.json, curves.png to `save_dir`.

    `init`: "imagenet" starts from the backbone's ImageNet weights (the rest fresh); a
    checkpoint path, or a shipped name such as "jersey-lite0-synth.pt" (model/shipped.py),
    fine-tunes all of that model, with its own architecture and preprocessing (then
    `model_config` and `preprocess` must be None). A resumed run ignores it.

    `on_epoch` receives a one-line summary of each finished epoch (the CLI prints it; the
    library itself prints nothing).

    `epochs` overrides config.epochs. With `resume`, last.pt's recipe, model and preprocessing
    are used instead of the arguments, and `epochs` is the new total: more continues on a
    schedule rebuilt for it, fewer than already run is refused. `workers` (loader processes)
    belongs to the machine, not the recipe: it overrides config.workers, resumed or not.

    Under torchrun each process trains its share of every batch in DDP (train/distributed.py);
    only rank 0 writes files, shows progress and calls `on_epoch`.
    """
    with distributed_context(resolve_device(device)) as dist_ctx:
        return _train(dist_ctx, Path(data_root), Path(save_dir), config=config,
                      model_config=model_config, preprocess=preprocess, init=init,
                      resume=resume,
                      epochs=epochs, workers=workers,
                      progress=progress and dist_ctx.is_main,
                      on_epoch=on_epoch if dist_ctx.is_main else None)


def _train(dist_ctx: DistContext, data_root: Path, save_dir: Path, *,
           config: TrainConfig, model_config: Optional[ModelConfig],
           preprocess: Optional[PreprocessConfig], init: str, resume: bool,
           epochs: Optional[int], workers: Optional[int], progress: bool,
           on_epoch: Optional[Callable[[str], None]]) -> TrainResult:
    started = time.perf_counter()
    dev = dist_ctx.device
    initial = None if resume or init == IMAGENET else init_checkpoint(init, model_config,
                                                                          preprocess)
    if dist_ctx.is_main:
        save_dir.mkdir(parents=True, exist_ok=True)
    model_config = model_config or ModelConfig()
    preprocess = preprocess or PreprocessConfig()
    init_record: Dict[str, Any] = {"init": IMAGENET}
    state: Optional[Dict[str, Any]] = None
    if initial is not None:
        model_config, preprocess = initial.model_cfg, initial.preprocess
        init_record = {"init": init, "init_sha256": initial.sha256}
    if resume:
        last = resume_checkpoint(save_dir)
        state = last.extra
        config = resumed_config(state, epochs)
        model_config = ModelConfig.from_dict(state["model_config"])
        preprocess = last.preprocess
        init_record = {k: state[k] for k in ("init", "init_sha256") if k in state}
    elif epochs is not None:
        config = replace(config, epochs=epochs)
    if workers is not None:
        config = replace(config, workers=workers)
    _seed_everything(config.seed)
    # channels_last: measured ~2x faster than NCHW for this model on CPU.
    if initial is None:
        model = build_model(model_config)
    else:  # its weights replace the ImageNet ones: no need to load those first
        model = build_model(replace(model_config, pretrained=False))
        model.load_state_dict(initial.model.state_dict())
    model = model.to(dev).to(memory_format=torch.channels_last)
    data = load_train_data(data_root, save_dir, config=config, preprocess=preprocess,
                           model=model, dist_ctx=dist_ctx, progress=progress)
    frame_head = FrameDigitHead(model_config).to(dev) if config.frame_loss_weight > 0 else None
    optimizer = torch.optim.AdamW(_param_groups(model, frame_head, config),
                                  weight_decay=config.weight_decay)
    steps_per_epoch = len(data.train_loader)
    scheduler = warmup_cosine(optimizer, warmup_steps=config.warmup_epochs * steps_per_epoch,
                              total_steps=config.epochs * steps_per_epoch)
    # The EMA decay ramps up with the step count (timm's warm-up, power 3/4) to ema_decay: a
    # fixed 0.999 over a short run keeps the EMA weights mostly at their initial values
    # (measured on the default synthetic data, ~1,400 steps in 31 epochs: val 17.5% at epoch
    # 16 while the raw weights fit the train split at 98%).
    ema = ModelEmaV3(model, decay=config.ema_decay, use_warmup=True, warmup_power=0.75)
    history: List[Dict[str, Any]] = []
    start_epoch = 0
    if state is not None:
        model.load_state_dict(state["model_state"])
        ema.module.load_state_dict(state["ema_state"])
        if frame_head is not None:
            frame_head.load_state_dict(state["frame_head_state"])
        restore_schedule(optimizer, scheduler, state)
        torch.set_rng_state(state["torch_rng"])
        history = list(state["history"])
        start_epoch = len(history)
        log.info("resuming %s at epoch %d/%d", save_dir / LAST, start_epoch + 1, config.epochs)
    dist_ctx.seed_rank_rng(config.seed, start_epoch)
    step = TrainStep(model, frame_head, config, dev)
    forward = dist_ctx.wrap(step)

    best = max(history, key=lambda h: h["val_number_acc"], default=None)
    guard = NonFiniteLossGuard()
    for epoch in range(start_epoch, config.epochs):
        if best is not None and epoch - best["epoch"] > config.patience:
            log.info("early stop: no val improvement for %d epochs", config.patience)
            break
        data.train_set.set_epoch(epoch)
        row = _run_epoch(step, forward, ema, data, optimizer, scheduler, config, dist_ctx,
                         epoch, progress, guard)
        history.append(row)  # losses and accuracies summed over the ranks: the same on each
        improved = best is None or row["val_number_acc"] > best["val_number_acc"]
        if improved:
            best = row
        if dist_ctx.is_main:
            if improved:
                save_checkpoint(save_dir / BEST, model_state=ema.module.state_dict(),
                                model_cfg=model_config, preprocess=preprocess,
                                max_frames=config.max_frames,
                                extra={"epoch": epoch, "val_number_acc": row["val_number_acc"],
                                       "train_config": config.to_dict(), **init_record,
                                       "data_root": str(Path(data_root).resolve())})
            save_last(save_dir, model, frame_head, ema, optimizer, scheduler, config,
                       model_config, preprocess, history, data_root, init_record)
            write_history(save_dir, history)
        if on_epoch is not None:
            on_epoch(_summary(row, config.epochs, improved))

    assert best is not None, "at least one epoch runs before early stopping can trigger"
    return TrainResult(save_dir=save_dir, best_epoch=int(best["epoch"]),
                       best_val_acc=float(best["val_number_acc"]), epochs_run=len(history),
                       seconds=time.perf_counter() - started, history=history,
                       main_process=dist_ctx.is_main)


def _param_groups(model: JerseyNet, frame_head: Optional[FrameDigitHead],
                  config: TrainConfig) -> List[Dict[str, Any]]:
    """Pretrained backbone blocks at lr; the freshly initialised layers at lr * new_lr_mult."""
    backbone = {id(p) for p in model.encoder.backbone.parameters()}
    trainable = _trainable(model, frame_head)
    return [
        {"params": [p for p in trainable if id(p) in backbone], "lr": config.lr},
        {"params": [p for p in trainable if id(p) not in backbone],
         "lr": config.lr * config.new_lr_mult},
    ]


def _trainable(model: torch.nn.Module,
               frame_head: Optional[FrameDigitHead]) -> List[torch.nn.Parameter]:
    modules = [model] + ([frame_head] if frame_head is not None else [])
    return [p for m in modules for p in m.parameters() if p.requires_grad]


class NonFiniteLossGuard:
    """Decides which training steps to skip: a NaN/inf loss would spread through the
    gradients into the weights, the EMA and every checkpoint after it."""

    def __init__(self, limit: int = MAX_NONFINITE_STEPS) -> None:
        self.limit = limit
        self.in_a_row = 0

    def skip(self, loss: torch.Tensor) -> bool:
        """True for a non-finite loss; TrainingError once `limit` of them come in a row."""
        if bool(torch.isfinite(loss)):
            self.in_a_row = 0
            return False
        self.in_a_row += 1
        log.warning("non-finite training loss (%s): step skipped, %d in a row",
                    loss.item(), self.in_a_row)
        if self.in_a_row >= self.limit:
            raise TrainingError(
                f"the training loss was not finite in {self.limit} steps in a row: training "
                f"diverged and was stopped; {BEST} and {LAST} hold the last finished epoch. "
                "Lower the learning rate or check the data, then resume or train again")
        return True


class TrainStep(nn.Module):
    """The model and the per-frame head behind one forward that returns the loss: DDP
    averages the gradients of what its own forward ran, so the whole loss is computed in it."""

    def __init__(self, model: JerseyNet, frame_head: Optional[FrameDigitHead],
                 config: TrainConfig, device: torch.device) -> None:
        super().__init__()
        self.model = model
        self.frame_head = frame_head
        self.criterion = nn.CrossEntropyLoss(label_smoothing=config.label_smoothing)
        self.frame_loss_weight = config.frame_loss_weight
        self.legibility_weight = config.legibility_weight
        self.label_smoothing = config.label_smoothing
        self.amp = config.amp
        self.device = device

    def trainable(self) -> List[nn.Parameter]:
        return _trainable(self.model, self.frame_head)

    def forward(self, batch: Dict[str, torch.Tensor]
                ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(loss, tens logits, ones logits) of one loader batch."""
        mask, tens, ones, legibility, known = (
            batch[key].to(self.device)
            for key in ("mask", "tens", "ones", "legibility", "legibility_known"))
        if self.legibility_weight == 0:  # every real frame counts fully, no attention target
            known = torch.zeros_like(known)
        with autocast(self.device, self.amp):
            embeddings = embed_batch(self.model, batch, self.device)
            tens_logits, ones_logits, attention = self.model.head(embeddings, mask)
            loss = (self.criterion(tens_logits.float(), tens)
                    + self.criterion(ones_logits.float(), ones))
            if self.legibility_weight > 0:
                loss = loss + self.legibility_weight * attention_loss(
                    attention, legibility, known, mask)
            if self.frame_head is not None:
                loss = loss + self.frame_loss_weight * self.frame_head.loss(
                    embeddings, frame_weights(legibility, known, mask), tens, ones,
                    self.label_smoothing)
        return loss, tens_logits, ones_logits


def _run_epoch(step: TrainStep, forward: nn.Module, ema: ModelEmaV3, data: TrainData,
               optimizer: torch.optim.Optimizer, scheduler: Any, config: TrainConfig,
               dist_ctx: DistContext, epoch: int, progress: bool,
               guard: NonFiniteLossGuard) -> Dict[str, Any]:
    """One epoch of `forward` (`step`, or its DDP wrapper), then validation of the EMA."""
    forward.train()
    started = time.perf_counter()
    loss_sum, correct, seen, skipped = 0.0, 0, 0, 0
    bar = tqdm(data.train_loader, desc=f"epoch {epoch + 1}/{config.epochs}", leave=False,
               disable=not progress, unit="batch")
    for batch in bar:
        loss, tens_logits, ones_logits = forward(batch)
        if guard.skip(dist_ctx.summed(loss)):  # no backward, optimizer, schedule or EMA step
            skipped += 1
            continue
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(step.trainable(), config.grad_clip)
        optimizer.step()
        scheduler.step()
        dist_ctx.broadcast_buffers(step.model)
        ema.update(step.model, step=scheduler.last_epoch)
        tens, ones = batch["tens"].to(dist_ctx.device), batch["ones"].to(dist_ctx.device)
        hits = (tens_logits.argmax(-1) == tens) & (ones_logits.argmax(-1) == ones)
        loss_sum += loss.item() * len(tens)
        correct += int(hits.sum())
        seen += len(tens)
        bar.set_postfix(loss=f"{loss_sum / seen:.3f}", acc=f"{correct / seen:.3f}")
    train_seconds = time.perf_counter() - started
    total_loss, total_correct, total_seen = dist_ctx.all_sum([loss_sum, correct, seen])
    val = dist_ctx.all_accuracy(collect_logits(
        ema.module, data.val_loader, device=dist_ctx.device, amp=config.amp,
        desc="validate" if progress else None).accuracy())
    return {
        "epoch": epoch,
        "lr": optimizer.param_groups[0]["lr"],
        "train_loss": total_loss / max(total_seen, 1),
        "train_number_acc": total_correct / max(total_seen, 1),
        "val_number_acc": val.number_acc,
        "val_tens_acc": val.tens_acc,
        "val_ones_acc": val.ones_acc,
        "skipped_steps": skipped,
        "train_seconds": train_seconds,
        "epoch_seconds": time.perf_counter() - started,
    }


def _summary(row: Dict[str, Any], epochs: int, improved: bool) -> str:
    return (f"epoch {row['epoch'] + 1}/{epochs}  loss {row['train_loss']:.4f}  "
            f"train acc {row['train_number_acc']:.4f}  val acc {row['val_number_acc']:.4f} "
            f"(tens {row['val_tens_acc']:.4f}, ones {row['val_ones_acc']:.4f})  "
            f"{row['epoch_seconds']:.0f}s{'  *best' if improved else ''}")


def _seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
