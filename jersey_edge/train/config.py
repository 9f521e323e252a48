"""Training recipe as a dataclass; presets name the configurations users run."""

from dataclasses import asdict, dataclass, fields, replace
from typing import Any, Dict

from ..core.errors import InputError


@dataclass(frozen=True)
class TrainConfig:
    """The `full` recipe (docs/training.md) unless a preset says otherwise."""

    epochs: int = 31
    batch_size: int = 32  # the global batch: under torchrun each process takes its share
    lr: float = 6e-4
    new_lr_mult: float = 1.0  # lr multiplier for layers not pretrained (projection, head)
    weight_decay: float = 1e-4
    warmup_epochs: int = 2
    grad_clip: float = 5.0
    label_smoothing: float = 0.01
    ema_decay: float = 0.999  # the cap: the decay warms up to it with the step count
    patience: int = 10
    max_frames: int = 16  # the model's window: evaluation, export and runtime use it
    train_frames: int = 16  # frames sampled per training sequence (fewer = faster epochs)
    frame_loss_weight: float = 0.0  # per-frame digit loss (train/frame_loss.py); 0 = off
    # Legibility as supervision (train/legibility_loss.py), where the data has scores: the
    # attention loss's weight; above 0 the per-frame loss is also weighted by legibility.
    legibility_weight: float = 0.0
    cache_trunk: bool = False  # train from cached frozen-trunk features (train/trunk_cache.py)
    # Render fresh training sequences every epoch (data/online.py) instead of reading the
    # training split; validation stays the folder's. online_sequences: per epoch (0 = as many
    # as the training split holds). The frozen trunk then runs in every step (no cache).
    online_synth: bool = False
    online_sequences: int = 0
    frame_drop: float = 0.02
    use_anchor: bool = True
    augment: bool = True
    seed: int = 0
    workers: int = 1
    # bf16 autocast on CUDA, and for the trunk-cache pass on CPUs with native bf16; CPU
    # training steps stay fp32 (measured faster there).
    amp: bool = True

    def to_dict(self) -> Dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Dict[str, Any]) -> "TrainConfig":
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


PRESETS: Dict[str, TrainConfig] = {
    "full": TrainConfig(),
    # Sized for a 2-core CPU: the frozen trunk runs once per frame (cache_trunk), then cheap
    # epochs of 4 random frames per sequence. No anchor in training: the repeated best view
    # is memorised. Measurements: docs/training.md and docs/accuracy.md.
    "demo": TrainConfig(epochs=12, train_frames=4, batch_size=16, lr=1e-3, new_lr_mult=3.0,
                        warmup_epochs=1, ema_decay=0.98, patience=7, use_anchor=False,
                        frame_loss_weight=1.0, cache_trunk=True),
    # The shipped weights' recipe (jersey-lite0-synth.pt, its model card beside it): the
    # demo's, on a large synthetic folder (`data synth --sequences 16000 --seed 1001`), with a
    # slower EMA for the longer run, in 8 epochs.
    "pretrain": TrainConfig(epochs=8, train_frames=4, batch_size=16, lr=1e-3, new_lr_mult=3.0,
                            warmup_epochs=1, ema_decay=0.995, patience=4, use_anchor=False,
                            frame_loss_weight=1.0, cache_trunk=True),
    # Fine-tuning a trained model (`train --init jersey-lite0-synth.pt`): the demo's recipe at
    # a third of its learning rate, the same on every layer (none is new), in fewer epochs.
    "finetune": TrainConfig(epochs=6, train_frames=4, batch_size=16, lr=3e-4, new_lr_mult=1.0,
                            warmup_epochs=1, ema_decay=0.98, patience=3, use_anchor=False,
                            frame_loss_weight=1.0, cache_trunk=True),
}


def preset(name: str, **overrides: Any) -> TrainConfig:
    if name not in PRESETS:
        raise InputError(f"unknown preset {name!r}: use {' or '.join(PRESETS)}")
    return replace(PRESETS[name], **{k: v for k, v in overrides.items() if v is not None})
