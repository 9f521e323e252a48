"""Datasets and loaders of a training run, built from one dataset folder and its cached split."""

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict

from torch.utils.data import DataLoader

from ..core.errors import InputError
from ..core.preprocess import PreprocessConfig
from ..data.dataset import AugmentConfig, SequenceDataset, make_loader, worker_context
from ..data.discovery import discover
from ..data.online import OnlineSynthDataset, folder_synth_config
from ..data.splits import Splits, load_splits, training_splits
from ..model.net import JerseyNet
from .config import TrainConfig
from .distributed import DistContext, ShardedEpochShuffle
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
                    preprocess: PreprocessConfig, model: JerseyNet, dist_ctx: DistContext,
                    progress: bool = True) -> TrainData:
    """Loaders of this rank (all the data in one process; see train/distributed.py): the
    training loader deals this rank its share of every epoch's order, batches of
    batch_size / world_size; validation covers this rank's share of the records. With
    config.cache_trunk they serve cached trunk features (train/trunk_cache.py), built here
    with `model`'s frozen trunk."""
    batch = dist_ctx.local_batch(config.batch_size)
    splits = _splits(data_root, save_dir, config.seed, dist_ctx)
    if len(splits.val) < dist_ctx.world_size:
        raise InputError(f"the validation split has {len(splits.val)} sequence(s), fewer than "
                         f"the {dist_ctx.world_size} processes: start fewer processes")
    val_records = dist_ctx.shard(splits.val)
    train_set = _train_set(data_root, splits, config, preprocess)
    if not config.cache_trunk:
        return TrainData(
            splits=splits,
            train_set=train_set,
            train_loader=_train_loader(train_set, batch, config.workers, config.seed,
                                       dist_ctx),
            val_loader=eval_loader(val_records, preprocess=preprocess,
                                   max_frames=config.max_frames,
                                   batch_size=batch, workers=config.workers),
        )
    # Every rank caches the whole training split: its share changes every epoch. Validation
    # shares are fixed, so each rank caches its own.
    val_source = SequenceDataset(val_records, preprocess=preprocess,
                                 max_frames=config.max_frames, train=False)
    cached_train, cached_val = (
        CachedSequenceDataset(source, build_trunk_cache(
            model, source, device=dist_ctx.device, workers=config.workers, bf16=config.amp,
            desc=f"caching {name} trunk features", progress=progress))
        for name, source in (("train", train_set), ("val", val_source)))
    return TrainData(
        splits=splits,
        train_set=cached_train,
        train_loader=_train_loader(cached_train, batch, 0, config.seed, dist_ctx),
        val_loader=DataLoader(cached_val, batch_size=batch),  # in order, in this process
    )


def _splits(data_root: Path, save_dir: Path, seed: int, dist_ctx: DistContext) -> Splits:
    """Rank 0 makes or checks the run's splits.json; the other ranks read it once it is
    written."""
    if dist_ctx.is_main:
        splits = training_splits(discover(data_root).records, save_dir, seed=seed)
        dist_ctx.barrier()
        return splits
    dist_ctx.barrier()
    return load_splits(discover(data_root).records, save_dir, seed=seed)


def _train_loader(dataset: Any, batch: int, workers: int, seed: int,
                  dist_ctx: DistContext) -> DataLoader:
    """As make_loader's shuffled loader (in one process the very same order), over this
    rank's share. Workers are not persistent, so set_epoch() reaches them."""
    sampler = ShardedEpochShuffle(dataset, seed=seed, rank=dist_ctx.rank,
                                  world_size=dist_ctx.world_size)
    return DataLoader(dataset, batch_size=batch, num_workers=workers, sampler=sampler,
                      multiprocessing_context=worker_context(workers))
