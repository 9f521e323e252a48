"""The real sequences every measurement is fed: the test split, or golden.npz without one.

Why never zeros or random tensors: activation sparsity, denormals and INT8 saturation make
latency and accuracy depend on the data, so random-tensor timings cannot be trusted.
Batches bigger than the set are tiled from its sequences.
"""

import functools
import io
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, List, Optional, Sequence, Tuple

import numpy as np
from PIL import Image

from ..core.errors import ArtifactError, InputError
from ..core.parity import Truth
from ..core.preprocess import (
    PreprocessConfig,
    even_sample,
    linspace_indices,
    load_rgb,
    network_size,
    normalize_pixels,
    resize_pad,
)
from ..core.two_stage import Logits, TwoStage, concat_logits, run_two_stage
from ..runtime.artifacts import GOLDEN
from ..runtime.manifest import Manifest

# Raw frames kept for preprocessing and streaming measurements: enough to cycle through.
RAW_FRAMES = 64
# Sequences per parity call: 16 x 16 frames keeps the encoder busy without large activations.
CHUNK = 16


@dataclass
class SequenceSet:
    """Sequences padded to max_frames, as network inputs or as the pixels they come from.

    The test split is held as uint8 canvases (a quarter of the float32 size; a real test
    split of ~600 sequences is 1.7 GB as float32) and normalised chunk by chunk with the
    runtime's own arithmetic, which gives bit-identical inputs.
    """

    source: str
    pixels: np.ndarray  # [S,T,...]: uint8 HxWx3 canvases or float32 3xHxW inputs
    to_input: Callable[[np.ndarray], np.ndarray]  # pixels [...] -> float32 [...,3,H,W]
    mask: np.ndarray  # [S,T] float32, 1 = real frame
    tens: Optional[np.ndarray] = None  # [S] targets, when known
    ones: Optional[np.ndarray] = None
    reference: Optional[Logits] = None  # stored PyTorch logits
    raw_frames: List[Path] = field(default_factory=list)  # JPEGs, for preprocess/streaming

    def __len__(self) -> int:
        return len(self.mask)

    @property
    def lengths(self) -> np.ndarray:
        return self.mask.sum(1).astype(int)

    @property
    def targets(self) -> Optional[Truth]:
        return None if self.tens is None or self.ones is None else (self.tens, self.ones)

    def logits(self, model: TwoStage, chunk: int = CHUNK) -> Logits:
        """Logits of every sequence, computed as the runtime does (`run_two_stage`)."""
        parts = []
        for start in range(0, len(self), chunk):
            index = range(start, min(start + chunk, len(self)))
            frames = np.concatenate([self.real_frames(i) for i in index])
            tens, ones, _ = run_two_stage(model, frames, self.lengths[start:index.stop].tolist(),
                                          self.mask.shape[1])
            parts.append((tens, ones))
        return concat_logits(parts)

    def real_frames(self, index: int) -> np.ndarray:
        """The real (unpadded) frames of sequence `index` as float32 [T_i,3,H,W]."""
        return self.to_input(self.pixels[index, : self.lengths[index]])

    def batch(self, batch: int, frames: int) -> Tuple[np.ndarray, np.ndarray]:
        """`batch` sequences of exactly `frames` real frames each -> flat [batch*frames,3,H,W]
        encoder input and their [batch,max_frames] mask. Short sequences repeat their own
        frames; a batch larger than the set cycles through it."""
        max_frames = self.mask.shape[1]
        if not 1 <= frames <= max_frames:
            raise InputError(f"frames per sequence must be 1-{max_frames} for these artifacts, "
                             f"got {frames}")
        chosen = []
        for i in range(batch):
            real = self.real_frames(i % len(self))
            chosen.append(real[np.arange(frames) % len(real)])
        mask = np.zeros((batch, max_frames), dtype=np.float32)
        mask[:, :frames] = 1.0
        return np.concatenate(chosen), mask


def spread(count: int, limit: Optional[int]) -> List[int]:
    """At most `limit` of `count` indices, evenly spaced: sets are sorted by label, so the
    first `limit` would test only the first labels."""
    return linspace_indices(count, limit or count)


def normalizer(cfg: PreprocessConfig) -> Callable[[np.ndarray], np.ndarray]:
    """uint8 [...,H,W,3] -> float32 [...,3,H,W], the runtime's own normalisation."""
    return functools.partial(normalize_pixels, cfg=cfg)


def from_golden(manifest: Manifest, scratch: Path, limit: Optional[int] = None) -> SequenceSet:
    """golden.npz: preprocessed sequences and the export's PyTorch FP32 logits for them.

    There are no raw crops in an artifacts folder, so the frames are written back as JPEGs
    into `scratch` for the preprocessing and streaming measurements (160x96 already, so the
    resize there is cheaper than on real crops; the report says so).
    """
    try:
        with np.load(io.BytesIO(manifest.read(GOLDEN))) as data:  # the verified bytes
            golden = {k: data[k] for k in ("frames", "mask", "tens", "ones",
                                           "tens_logits", "ones_logits")}
    except KeyError as exc:
        raise ArtifactError(f"{manifest.path(GOLDEN)} lacks {exc}; re-export") from None
    keep = spread(len(golden["mask"]), limit)
    frames, mask = golden["frames"][keep], golden["mask"][keep].astype(np.float32)
    return SequenceSet(
        source=f"{GOLDEN} ({len(mask)} sequences)",
        pixels=frames.astype(np.float32),
        to_input=np.ascontiguousarray,
        mask=mask,
        tens=golden["tens"][keep],
        ones=golden["ones"][keep],
        reference=(golden["tens_logits"][keep], golden["ones_logits"][keep]),
        raw_frames=_write_jpegs(frames, mask, manifest.preprocess, scratch),
    )


def _write_jpegs(frames: np.ndarray, mask: np.ndarray, cfg: PreprocessConfig,
                 scratch: Path) -> List[Path]:
    mean = np.asarray(cfg.mean, dtype=np.float32)[:, None, None]
    std = np.asarray(cfg.std, dtype=np.float32)[:, None, None]
    real = frames[mask > 0.5][:RAW_FRAMES]
    folder = Path(tempfile.mkdtemp(prefix="golden-frames-", dir=scratch))
    paths = []
    for i, frame in enumerate(real):
        pixels = np.clip(np.rint(frame * std + mean), 0, 255).astype(np.uint8).transpose(1, 2, 0)
        path = folder / f"frame_{i:03d}.jpg"
        Image.fromarray(pixels, mode="RGB").save(path, quality=95)
        paths.append(path)
    return paths


def from_records(records: Sequence, manifest: Manifest, *, source: str,
                 limit: Optional[int] = None) -> SequenceSet:
    """Dataset records (`.frames` paths, `.label`) sampled and preprocessed as the runtime
    does (linspace to max_frames, keep-aspect resize, sharpen, normalise)."""
    from ..core.digits import number_to_digits

    records = [records[i] for i in spread(len(records), limit)]
    if not records:
        raise InputError(f"{source} has no sequences to benchmark on")
    cfg, max_frames = manifest.preprocess, manifest.max_frames
    pixels = np.zeros((len(records), max_frames, cfg.height, cfg.width, 3), dtype=np.uint8)
    mask = np.zeros((len(records), max_frames), dtype=np.float32)
    raw: List[Path] = []
    for i, record in enumerate(records):
        paths = even_sample(record.frames, max_frames)
        for t, path in enumerate(paths):
            img = load_rgb(path, pad_value=cfg.pad_value, fit=network_size(cfg))
            pixels[i, t] = np.asarray(resize_pad(img, cfg))
        mask[i, : len(paths)] = 1.0
        raw.extend(paths[: RAW_FRAMES - len(raw)])
    digits = np.array([number_to_digits(r.label) for r in records])
    return SequenceSet(source=f"{source} ({len(records)} sequences)", pixels=pixels,
                       to_input=normalizer(cfg), mask=mask, tens=digits[:, 0],
                       ones=digits[:, 1], raw_frames=raw)
