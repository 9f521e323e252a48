"""Sequences -> padded frame tensors + digit targets, for training and evaluation.

In training every random choice (frame drop, augmentation, shuffling) is a function of
(seed, epoch, index) alone: DataLoader workers and resumed runs reproduce it exactly.
"""

import logging
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Sequence, Set, Tuple, TypeVar

import numpy as np
import torch
import torchvision.transforms.v2.functional as F
from PIL import Image, ImageFilter
from torch.utils.data import DataLoader, Dataset, Sampler
from torchvision.transforms import InterpolationMode

from ..core.digits import number_to_digits
from ..core.errors import DatasetError, InputError
from ..core.preprocess import PreprocessConfig, even_sample, load_rgb, network_size, resize_pad
from .discovery import SequenceRecord

Range = Tuple[float, float]


@dataclass(frozen=True)
class AugmentConfig:
    """Ranges are inclusive; noise std is in [0,1] pixel units (0.01 = 2.55 grey levels)."""

    enabled: bool = True
    brightness: Range = (0.8, 1.2)
    contrast: Range = (0.8, 1.2)
    saturation: Range = (0.8, 1.2)
    rotation_deg: float = 5.0
    blur_p: float = 0.3
    blur_radius: Range = (1.0, 2.0)
    noise_p: float = 0.2
    noise_std: Range = (0.01, 0.03)


@dataclass(frozen=True)
class ColourJitter:
    """Multiplicative factors, drawn once per sequence."""

    brightness: float
    contrast: float
    saturation: float


def draw_colour(cfg: AugmentConfig, rng: np.random.Generator) -> ColourJitter:
    return ColourJitter(brightness=float(rng.uniform(*cfg.brightness)),
                        contrast=float(rng.uniform(*cfg.contrast)),
                        saturation=float(rng.uniform(*cfg.saturation)))


def augment_image(img: Image.Image, cfg: AugmentConfig, colour: ColourJitter,
                  rng: np.random.Generator, *, fill: int) -> Image.Image:
    """Colour, rotation and blur on the original crop, before resize_pad.

    Rotated-in corners are filled with `fill` (the padding grey), so they look like padding.
    Blur uses Pillow's GaussianBlur, whose `radius` is the Gaussian's standard deviation:
    A "radius 1-2" blur is in exactly these units.
    """
    img = F.adjust_brightness(img, colour.brightness)
    img = F.adjust_contrast(img, colour.contrast)
    img = F.adjust_saturation(img, colour.saturation)
    angle = float(rng.uniform(-cfg.rotation_deg, cfg.rotation_deg))
    if angle:
        img = F.rotate(img, angle, interpolation=InterpolationMode.BILINEAR, fill=[fill] * 3)
    if rng.random() < cfg.blur_p:
        img = img.filter(ImageFilter.GaussianBlur(float(rng.uniform(*cfg.blur_radius))))
    return img


def add_noise(x: torch.Tensor, cfg: AugmentConfig, preprocess: PreprocessConfig,
              rng: np.random.Generator) -> torch.Tensor:
    """Gaussian noise on a normalised 3xHxW input, with p = cfg.noise_p.

    std is drawn in [0,1] pixel units and scaled by 255/std per channel: the same as adding it
    before normalisation. The result is clipped to the normalised image of [0,255], like
    torchvision's gaussian_noise(clip=True). Not that op itself: it draws from torch's global
    RNG, which would make samples depend on the worker and disturb the training RNG.
    """
    if rng.random() >= cfg.noise_p:
        return x
    sigma = float(rng.uniform(*cfg.noise_std))
    noise = torch.from_numpy(rng.standard_normal(x.shape, dtype=np.float32))
    std = torch.tensor(preprocess.std, dtype=torch.float32).view(3, 1, 1)
    mean = torch.tensor(preprocess.mean, dtype=torch.float32).view(3, 1, 1)
    noisy = x + noise * (sigma * 255.0 / std)
    return torch.clamp(noisy, (0.0 - mean) / std, (255.0 - mean) / std)


log = logging.getLogger("jersey_edge")
View = TypeVar("View")


def sample_frames(record: SequenceRecord, *, max_frames: int = 16, train: bool,
                  rng: Optional[np.random.Generator] = None, frame_drop: float = 0.02,
                  use_anchor: bool = True) -> List[Path]:
    """Frames to feed for one sequence, at most max_frames, in time order.

    Evaluation spreads them by linspace, exactly like the runtime; with max_frames=1 it is the
    single-frame baseline: the anchor if there is one, else the first frame. Training draws
    them with `sample_views`.
    """
    anchor = record.anchor if use_anchor else None
    if not train:
        if max_frames == 1 and anchor is not None:
            return [anchor]
        return even_sample(record.frames, max_frames)
    if rng is None:
        raise InputError("training-time sampling needs an rng (numpy Generator)")
    return sample_views(record.frames, anchor, max_frames=max_frames, rng=rng,
                        frame_drop=frame_drop)


def sample_views(frames: Sequence[View], anchor: Optional[View], *, max_frames: int,
                 rng: np.random.Generator, frame_drop: float) -> List[View]:
    """Training views of one sequence (frame paths on disk, or images rendered online).

    The anchor (the best single view) comes first, then a random sorted subset of the frames
    (temporal jitter: each epoch shows other frames of long sequences), each dropped with
    p=frame_drop, never the first.
    """
    lead = [anchor] if anchor is not None else []
    picked = [frames[i] for i in random_indices(len(frames), max_frames - len(lead), rng)]
    kept = picked[:1] + [p for p in picked[1:] if rng.random() >= frame_drop]
    return lead + kept


def random_indices(length: int, count: int, rng: np.random.Generator) -> List[int]:
    """A sorted random subset of range(length) of size min(length, count)."""
    if length <= count:
        return list(range(length))
    return sorted(int(i) for i in rng.choice(length, size=count, replace=False))


def pad_frames(frames: torch.Tensor, max_frames: int) -> torch.Tensor:
    """[n,...] -> [max_frames,...], zeros after the n real frames."""
    padded = torch.zeros(max_frames, *frames.shape[1:], dtype=torch.float32)
    padded[: len(frames)] = frames
    return padded


def frame_mask(count: int, max_frames: int) -> torch.Tensor:
    mask = torch.zeros(max_frames, dtype=torch.float32)
    mask[:count] = 1.0
    return mask


def frame_scores(legibility: Optional[Tuple[float, ...]], frames: Sequence[Path],
                 anchor: Optional[Path], drawn: Sequence[Path],
                 max_frames: int) -> Tuple[torch.Tensor, torch.Tensor]:
    """(scores [max_frames], known []) of the `drawn` frames of a sequence whose frames carry
    `legibility` (None: unknown, every score 1 and known 0). The anchor, a copy of the most
    legible frame, scores the maximum; padding scores 0."""
    out = torch.zeros(max_frames, dtype=torch.float32)
    if legibility is None:
        out[: len(drawn)] = 1.0
        return out, torch.tensor(0.0)
    by_path = dict(zip(frames, legibility))
    if anchor is not None:
        by_path[anchor] = max(legibility)
    out[: len(drawn)] = torch.tensor([by_path.get(p, 1.0) for p in drawn], dtype=torch.float32)
    return out, torch.tensor(1.0)


def item_targets(record: SequenceRecord, index: int, drawn: Sequence[Path],
                 max_frames: int) -> Dict[str, object]:
    """Digit targets and the `drawn` frames' legibility ("legibility" [max_frames],
    "legibility_known" 0/1: see data/legibility.py)."""
    tens, ones = number_to_digits(record.label)
    scores, known = frame_scores(record.legibility, record.frames, record.anchor, drawn,
                                 max_frames)
    return {"tens": torch.tensor(tens, dtype=torch.int64),
            "ones": torch.tensor(ones, dtype=torch.int64), "index": index,
            "legibility": scores, "legibility_known": known}


class SequenceDataset(Dataset):
    """Item: frames [max_frames,3,H,W] float32 (zero right-padded), mask [max_frames] float32
    (1 = real frame), tens/ones int64 targets, index int."""

    def __init__(self, records: Sequence[SequenceRecord], *, preprocess: PreprocessConfig,
                 max_frames: int = 16, train: bool = False, frame_drop: float = 0.02,
                 use_anchor: bool = True, augment: Optional[AugmentConfig] = None,
                 seed: int = 0) -> None:
        if max_frames < 1:
            raise InputError(f"max_frames must be at least 1, got {max_frames}")
        if not 0.0 <= frame_drop < 1.0:
            raise InputError(f"frame_drop must be in [0, 1), got {frame_drop}")
        self.records = list(records)
        self.preprocess = preprocess
        self.max_frames = max_frames
        self.train = train
        self.frame_drop = frame_drop
        self.use_anchor = use_anchor
        self.augment = augment if (train and augment is not None and augment.enabled) else None
        self.seed = seed
        self.epoch = 0
        self._warned: Set[Path] = set()

    def set_epoch(self, epoch: int) -> None:
        """Call before iterating each epoch; workers see it because they are not persistent."""
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, index: int) -> Dict[str, object]:
        record, paths, rng = self.sample(index)
        pairs = self.load_frames(record, paths, rng)
        loaded = torch.stack([x for _, x in pairs])
        return {"frames": pad_frames(loaded, self.max_frames),
                **item_targets(record, index, [p for p, _ in pairs], self.max_frames),
                "mask": frame_mask(len(loaded), self.max_frames)}

    def sample(self, index: int
               ) -> Tuple[SequenceRecord, List[Path], Optional[np.random.Generator]]:
        """Sequence `index`, the frame paths drawn for it this epoch, and the rng to go on
        augmenting them with: a pure function of (seed, epoch, index)."""
        record = self.records[index]
        rng = np.random.default_rng([self.seed, self.epoch, index]) if self.train else None
        paths = sample_frames(record, max_frames=self.max_frames, train=self.train, rng=rng,
                              frame_drop=self.frame_drop, use_anchor=self.use_anchor)
        return record, paths, rng

    def load_frames(self, record: SequenceRecord, paths: Sequence[Path],
                    rng: Optional[np.random.Generator]) -> List[Tuple[Path, torch.Tensor]]:
        """The readable ones of `paths` as model inputs [3,H,W] (augmented in training).

        Colour is drawn once per sequence (one camera); the rest per frame in _to_input.
        """
        colour = draw_colour(self.augment, rng) if self.augment and rng else None
        loaded = []
        for path in paths:
            img = self._load(path)
            if img is not None:
                loaded.append((path, self._to_input(img, rng, colour)))
        if not loaded:
            raise DatasetError(f"sequence {record.sequence}: none of its {len(paths)} sampled "
                               "frames could be read; remove or fix the folder")
        return loaded

    def _to_input(self, img: Image.Image, rng: Optional[np.random.Generator],
                  colour: Optional[ColourJitter]) -> torch.Tensor:
        cfg, aug = self.preprocess, self.augment
        if aug is None or rng is None or colour is None:
            return to_input(resize_pad(img, cfg), cfg)
        img = augment_image(img, aug, colour, rng, fill=cfg.pad_value)
        return add_noise(to_input(resize_pad(img, cfg), cfg), aug, cfg, rng)

    def _load(self, path: Path) -> Optional[Image.Image]:
        try:
            # Unaugmented frames decode as the runtime does (draft mode for large JPEGs);
            # augmentation may zoom in, so it needs the full-resolution pixels.
            fit = network_size(self.preprocess) if self.augment is None else None
            return load_rgb(path, pad_value=self.preprocess.pad_value, fit=fit)
        except InputError as exc:
            if path not in self._warned:
                self._warned.add(path)
                log.warning("skipping unreadable frame: %s", exc)
            return None


class EpochShuffle(Sampler):
    """A permutation seeded by (seed, dataset.epoch): a resumed run replays the same order."""

    def __init__(self, dataset: SequenceDataset, seed: int) -> None:
        self.dataset = dataset
        self.seed = seed

    def __len__(self) -> int:
        return len(self.dataset)

    def __iter__(self) -> Iterator[int]:
        state = np.random.SeedSequence([self.seed, self.dataset.epoch]).generate_state(1)
        generator = torch.Generator().manual_seed(int(state[0]))
        return iter(torch.randperm(len(self.dataset), generator=generator).tolist())


def make_loader(dataset: SequenceDataset, *, batch_size: int, shuffle: bool, workers: int,
                seed: int) -> DataLoader:
    """Workers are not persistent on purpose: each epoch they start from the dataset's
    current state, so set_epoch() reaches them."""
    return DataLoader(dataset, batch_size=batch_size, num_workers=workers,
                      sampler=EpochShuffle(dataset, seed) if shuffle else None,
                      multiprocessing_context=worker_context(workers))


def worker_context(workers: int) -> Optional[str]:
    """How DataLoader workers start: forked (None: torch's default), except in a process
    where OpenVINO has run, where they start from a fresh forkserver: OpenVINO's thread
    pool (TBB) does not survive fork, and forked workers crashed with a segmentation fault
    (OpenVINO inference, a bench say, then training or evaluation in one process)."""
    return "forkserver" if workers > 0 and "openvino" in sys.modules else None


def to_input(canvas: Image.Image, cfg: PreprocessConfig) -> torch.Tensor:
    """An already resized+padded RGB image -> 3xHxW float32, (x - mean) / std."""
    pixels = F.to_dtype(F.pil_to_tensor(canvas), torch.float32, scale=False)
    return F.normalize(pixels, mean=list(cfg.mean), std=list(cfg.std))
