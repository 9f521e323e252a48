"""Cache the frozen encoder trunk's output of every frame once, then train from the cache.

The trunk (stem + frozen blocks, BatchNorm in eval mode) is a fixed function of its input and
costs ~80% of the encoder's forward pass; with data loading it is ~60% of a CPU training
step. Short runs see each frame only a few times, so one augmentation draw per frame,
frozen into the cache, loses little variety; what it buys is ~2.4x more optimizer steps in
the same wall time (measured on 2 CPU cores). Sampling stays exactly SequenceDataset's (anchor
first, random sorted subset, frame drop); only the pixels -> trunk features step is shared
between epochs.

Under torchrun every process caches the whole training split (train/data.py): the share of it
a process trains on changes every epoch. Validation shares are fixed: each caches its own.
"""

from dataclasses import dataclass
from typing import Any, Dict, List

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset
from tqdm import tqdm

from ..data.dataset import (
    SequenceDataset,
    frame_mask,
    item_targets,
    pad_frames,
    worker_context,
)
from ..model.net import JerseyNet
from .inference import autocast

# Sequences per trunk forward pass while caching: ~60 frames, a CPU-efficient batch.
_CACHE_BATCH = 4


@dataclass
class TrunkCache:
    """features[row] is the trunk output of one frame; rows maps each frame path to its row."""

    features: torch.Tensor  # [N,C,h,w] float16
    rows: Dict[object, int]


class _AllFrames(Dataset):
    """Item i: the frames sequence i can ever be drawn with, loaded as the wrapped dataset
    would load them. Training: every frame (and the anchor, if used), augmented with draws
    seeded by (seed, i). Evaluation: its one fixed draw (linspace), plain."""

    def __init__(self, source: SequenceDataset) -> None:
        self.source = source

    def __len__(self) -> int:
        return len(self.source)

    def __getitem__(self, index: int) -> list:
        if not self.source.train:
            return self.source.load_frames(*self.source.sample(index))
        record = self.source.records[index]
        anchor = record.anchor if self.source.use_anchor else None
        paths = ([anchor] if anchor is not None else []) + list(record.frames)
        rng = np.random.default_rng([self.source.seed, index])
        return self.source.load_frames(record, paths, rng)


def build_trunk_cache(model: JerseyNet, source: SequenceDataset, *, device: torch.device,
                      workers: int, desc: str, bf16: bool = False,
                      progress: bool = True) -> TrunkCache:
    """Run the trunk over every frame `source` can draw (see _AllFrames); `bf16` allows
    bf16 autocast where the device runs it natively (the cache holds fp16 anyway)."""
    loader = DataLoader(_AllFrames(source), batch_size=_CACHE_BATCH, num_workers=workers,
                        collate_fn=_as_list, multiprocessing_context=worker_context(workers))
    chunks: List[torch.Tensor] = []
    rows: Dict[object, int] = {}
    model.encoder.eval()
    with torch.no_grad(), autocast(device, bf16, cpu=True):
        for batch in tqdm(loader, desc=desc, unit="batch", leave=False, disable=not progress):
            loaded = [pair for sequence in batch for pair in sequence]
            inputs = torch.stack([x for _, x in loaded]).to(
                device, memory_format=torch.channels_last)
            chunks.append(model.encoder.trunk(inputs).to("cpu", torch.float16))
            for path, _ in loaded:
                rows[path] = len(rows)
    return TrunkCache(features=torch.cat(chunks), rows=rows)


class CachedSequenceDataset(Dataset):
    """`source`'s items (same sampling, same targets) with "features", the cached trunk
    outputs of the drawn frames, in place of "frames"."""

    def __init__(self, source: SequenceDataset, cache: TrunkCache) -> None:
        self.source = source
        self.cache = cache

    @property
    def epoch(self) -> int:
        return self.source.epoch

    def set_epoch(self, epoch: int) -> None:
        self.source.set_epoch(epoch)

    def __len__(self) -> int:
        return len(self.source)

    def __getitem__(self, index: int) -> Dict[str, object]:
        record, paths, _ = self.source.sample(index)
        cached = [p for p in paths if p in self.cache.rows]
        rows = [self.cache.rows[p] for p in cached]
        max_frames = self.source.max_frames
        return {"features": pad_frames(self.cache.features[rows].float(), max_frames),
                "mask": frame_mask(len(rows), max_frames),
                **item_targets(record, index, cached, max_frames)}


def _as_list(items: List[Any]) -> List[Any]:
    """The batch as drawn (a module function: workers started by a forkserver pickle it)."""
    return items

