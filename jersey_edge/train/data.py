"""Datasets and loaders of a training run, built from one dataset folder and its cached split."""

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict

import torch

from ..core.errors import InputError
from ..core.preprocess import PreprocessConfig
from ..data.augment import AugmentConfig
from ..data.dataset import SequenceDataset, make_loader
from ..data.online import OnlineSynthDataset, folder_synth_config
from ..data.splits import Splits, training_splits
from ..model.net import JerseyNet
from .config import TrainConfig
from .trunk_cache import CachedSequenceDataset, build_trunk_cache


@dataclass
class TrainData:
    splits: Splits
    train_set: Any  # SequenceDataset or CachedSequenceDataset: both have set_epoch
    train_loader: Any
    val_loader: Any


def eval_loader(records: list, *, preprocess: PreprocessConfig, max_frames: int,
                batch_size: int, workers: int) -> Any:
    dataset = SequenceDataset(records, preprocess=preprocess, max_frames=max_frames, train=False)
    return make_loader(dataset, batch_size=batch_size, shuffle=False, workers=workers, seed=0)


def _train_set(data_root: Path, splits: Splits, config: TrainConfig,
               preprocess: PreprocessConfig) -> SequenceDataset:
    common: Dict[str, Any] = dict(preprocess=preprocess, max_frames=config.train_frames,
                                  frame_drop=config.frame_drop,
                                  use_anchor=config.use_anchor,
                                  augment=AugmentConfig() if config.augment else None,
                                  seed=config.seed)
    if not config.online_synth:
        return SequenceDataset(splits.train, train=True, **common)
    if config.cache_trunk:
        raise InputError("online synthesis renders new frames every epoch, so there is no "
                         "trunk cache to build: turn cache_trunk off")
    return OnlineSynthDataset(sorted({r.label for r in splits.train}),
                              size=config.online_sequences or len(splits.train),
                              synth=folder_synth_config(data_root), **common)


def load_train_data(data_root: Path, save_dir: Path, *, config: TrainConfig,
                    preprocess: PreprocessConfig, model: JerseyNet, device: torch.device,
                    progress: bool = True) -> TrainData:
    """Loaders of one run; with config.cache_trunk they serve cached trunk features
    (train/trunk_cache.py), built here with `model`'s frozen trunk."""
    splits = training_splits(data_root, save_dir, seed=config.seed)
    train_set = _train_set(data_root, splits, config, preprocess)
    if not config.cache_trunk:
        return TrainData(
            splits=splits,
            train_set=train_set,
            train_loader=make_loader(train_set, batch_size=config.batch_size, shuffle=True,
                                     workers=config.workers, seed=config.seed),
            val_loader=eval_loader(splits.val, preprocess=preprocess,
                                   max_frames=config.max_frames,
                                   batch_size=config.batch_size, workers=config.workers),
        )
    val_source = SequenceDataset(splits.val, preprocess=preprocess,
                                 max_frames=config.max_frames, train=False)
    cached_train, cached_val = (
        CachedSequenceDataset(source, build_trunk_cache(
            model, source, device=device, workers=config.workers, bf16=config.amp,
            desc=f"caching {name} trunk features", progress=progress))
        for name, source in (("train", train_set), ("val", val_source)))
    return TrainData(
        splits=splits,
        train_set=cached_train,
        train_loader=make_loader(cached_train, batch_size=config.batch_size, shuffle=True,
                                 workers=0, seed=config.seed),
        val_loader=make_loader(cached_val, batch_size=config.batch_size, shuffle=False,
                               workers=0, seed=0),
    )
