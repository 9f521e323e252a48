"""Training sequences rendered on the fly: the model never sees the same sequence twice.

A fixed folder of ~18 sequences per label is what limits accuracy on the default data
(issue 13); rendering in the DataLoader workers lifts that limit. Each item is a pure function
of (seed, epoch, index), like `SequenceDataset`'s augmentation, so runs, resumes and worker
counts reproduce it exactly. Labels are the training split's, each as often (index modulo the
label count, order shuffled by the loader), so held-out combinations stay held out. Items
come out as `SequenceDataset` items, through its augmentation and preprocessing. Under
torchrun each process renders only the indices its sampler deals it (train/distributed.py):
an index renders the same pixels in any process.
"""

import io
import json
from pathlib import Path
from typing import Any, Dict, Optional, Sequence

import numpy as np
import torch
from PIL import Image

from ..core.digits import number_to_digits
from ..core.errors import DatasetError, InputError
from ..core.preprocess import PreprocessConfig
from .dataset import (
    AugmentConfig,
    SequenceDataset,
    draw_colour,
    frame_mask,
    pad_frames,
    sample_views,
)
from .synth.config import SynthConfig
from .synth.track import TrackSpec, render_track
from .synth.writer import MAIN, MANIFEST

# Keeps online sequences apart from every folder `data synth --seed N` writes (seed N, track i).
ONLINE_STREAM = 0x6F6E6C


def folder_synth_config(data_root: Path) -> SynthConfig:
    """The generator settings a synthetic folder was written with (its synth.json), so that
    online sequences come from the same distribution as its validation and test splits;
    the defaults for a real dataset, which has no synth.json."""
    path = Path(data_root) / MANIFEST
    if not path.is_file():
        return SynthConfig()
    try:
        recorded = json.loads(path.read_text(encoding="utf-8"))["config"]
        values: Dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v
                                  for k, v in recorded.items()}
        config = SynthConfig(**values)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise DatasetError(f"{path}: cannot read the generator config ({exc}); "
                           "re-run `jersey-edge data synth`") from None
    config.validate()
    return config


class OnlineSynthDataset(SequenceDataset):
    """`size` freshly rendered sequences per epoch over `labels`; items as SequenceDataset's."""

    def __init__(self, labels: Sequence[int], *, size: int, synth: SynthConfig,
                 preprocess: PreprocessConfig, max_frames: int, frame_drop: float = 0.02,
                 use_anchor: bool = True, augment: Optional[AugmentConfig] = None,
                 seed: int = 0) -> None:
        super().__init__([], preprocess=preprocess, max_frames=max_frames, train=True,
                         frame_drop=frame_drop, use_anchor=use_anchor, augment=augment,
                         seed=seed)
        if not labels:
            raise InputError("online synthesis needs at least one label")
        if size < 1:
            raise InputError(f"online synthesis needs at least 1 sequence an epoch, got {size}")
        self.labels = sorted(set(int(n) for n in labels))
        self.size = size
        self.synth = synth

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, index: int) -> Dict[str, object]:
        label = self.labels[index % len(self.labels)]
        render_seed = int(np.random.SeedSequence(
            [ONLINE_STREAM, self.seed, self.epoch, index]).generate_state(1)[0])
        sequence = render_track(TrackSpec(index, label, MAIN, 1, (render_seed, index)),
                                self.synth)[0]
        rng = np.random.default_rng([self.seed, self.epoch, index])
        scored = list(zip(sequence.frames, sequence.legibility))
        anchor = scored[sequence.anchor] if self.use_anchor else None
        views = sample_views(scored, anchor, max_frames=self.max_frames, rng=rng,
                             frame_drop=self.frame_drop)
        colour = draw_colour(self.augment, rng) if self.augment else None
        frames = torch.stack([self._to_input(_decode(jpeg), rng, colour) for jpeg, _ in views])
        legibility = torch.zeros(self.max_frames, dtype=torch.float32)
        legibility[: len(views)] = torch.tensor([score for _, score in views])
        tens, ones = number_to_digits(label)
        return {"frames": pad_frames(frames, self.max_frames),
                "mask": frame_mask(len(frames), self.max_frames),
                "tens": torch.tensor(tens, dtype=torch.int64),
                "ones": torch.tensor(ones, dtype=torch.int64), "index": index,
                "legibility": legibility, "legibility_known": torch.tensor(1.0)}


def _decode(jpeg: bytes) -> Image.Image:
    """The generator's own JPEG (quality, chroma subsampling) is part of the domain."""
    with Image.open(io.BytesIO(jpeg), formats=("JPEG",)) as image:
        return image.convert("RGB")
