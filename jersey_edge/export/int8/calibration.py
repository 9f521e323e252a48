"""One INT8 calibration pass over dataset frames; both INT8 encoders are built from its ranges.

The pass is run here rather than inside `quantize_static` for three reasons: ORT's
`quantize_static` cannot set the histogram size, so its "entropy" method searches exactly one
threshold (the full range, i.e. min-max in disguise); its histogram calibrators keep every
intermediate tensor of the whole calibration set in memory; and the TensorRT cache needs the
range of *every* tensor, not only those one target's scheme quantizes. The ranges are saved in ORT's
JSON calibration-cache format, which `quantize_static(calibration_cache_path=...)` loads
without calibrating again.

Methods, as measured on an ImageNet Lite0 over synthetic crops (INT8 vs FP32 embeddings):
percentile (default) is best and fast; minmax is close behind and fastest; entropy (ORT's KL
search over a signed histogram) clips far too much on the one-sided ReLU6 activations and
its pure-Python search takes minutes, so it is offered only for comparison.
"""

import contextlib
import io
import os
import random
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np
from tqdm import tqdm

from ...core.errors import InputError
from ...core.preprocess import DECODE_ERRORS, PreprocessConfig, open_frame, preprocess_frames
from ...core.sequence_folders import FRAME_SUFFIXES, frame_sort_key
from ...data.discovery import SequenceRecord
from ...runtime.artifacts import FRAMES
from ..golden import frames_by_label, spread_frames

CALIB_METHODS = ("entropy", "percentile", "minmax")


@dataclass(frozen=True)
class CalibrationConfig:
    """How activation ranges are measured. Recorded in manifest.json."""

    method: str = "percentile"
    size: int = 256  # frames
    seed: int = 0
    batch_size: int = 16
    percentile: float = 99.999
    # TensorRT's entropy calibrator histograms |x| into 2048 bins and searches thresholds
    # over 128 quantized bins; the same numbers make ORT's entropy search meaningful.
    histogram_bins: int = 2048
    quantized_bins: int = 128
    # Batches collected before they are folded into the histograms (bounds memory).
    batches_per_chunk: int = 4

    def __post_init__(self) -> None:
        if self.method not in CALIB_METHODS:
            raise InputError(f"calibration method must be one of {', '.join(CALIB_METHODS)}, "
                             f"got {self.method!r}")
        if self.size < 1:
            raise InputError(f"calibration size must be at least 1, got {self.size}")
        if not 0.0 < self.percentile <= 100.0:
            raise InputError(f"calibration percentile must be in (0, 100], got {self.percentile}")

    def to_dict(self) -> Dict[str, Any]:
        return asdict(self)


def select_frames(records: Sequence[SequenceRecord], size: int, seed: int) -> List[Path]:
    """`size` frames spread over labels, then sequences, then positions within a sequence.

    Every label gets the same share of frames (so no label dominates, however many
    sequences it has), sequences within a label come in a seeded order, and a sequence
    contributes a second frame only after every sequence of its label has given one (see
    `selection.frames_by_label`). Same records + size + seed -> same frames, in the same order.
    """
    if not records:
        raise InputError("the training split is empty: nothing to calibrate INT8 on")
    frames = frames_by_label(records, size, seed, "calibration")
    if len(frames) < size:
        raise InputError(f"calibration size {size} asks for more frames than the training split "
                         f"holds ({len(frames)}); use a smaller --calib-size")
    return frames


def folder_frames(folder: Path, size: int, seed: int) -> List[Path]:
    """`size` frames from a folder of deployment crops (--calib-data), no labels needed.

    Calibrating on what the device will see, rather than on training frames, sets ranges
    for the real cameras. Images (.jpg, .jpeg, .png) are found at any depth; sub-folders are
    visited round-robin in a seeded order and each one's frames spread by linspace, so no
    camera or clip dominates. Same folder + size + seed -> same frames, in the same order.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"calibration data {folder}: no such folder")
    groups = []
    for where, subdirs, files in os.walk(folder):
        subdirs.sort()
        images = [Path(where) / name for name in files
                  if Path(name).suffix.lower() in FRAME_SUFFIXES]
        if images:
            groups.append(sorted(images, key=frame_sort_key))
    if not groups:
        raise InputError(f"calibration data {folder}: no images ({', '.join(FRAME_SUFFIXES)}) "
                         "in it or below it")
    random.Random(f"calibration/{seed}").shuffle(groups)
    frames = spread_frames(groups, size)
    if len(frames) < size:
        raise InputError(f"calibration size {size} asks for more frames than {folder} holds "
                         f"({len(frames)}); use a smaller --calib-size")
    for path in frames:
        _check_readable(path)
    return frames


def folder_source(calibration: Dict[str, Any], folder: Path) -> Dict[str, Any]:
    """The manifest's calibration section for frames from `folder`: it names the folder
    where the section otherwise names the split; "frames" counts those used."""
    rest = {key: value for key, value in calibration.items() if key != "source_split"}
    return {"source_folder": str(Path(folder).resolve()), **rest}


def _check_readable(path: Path) -> None:
    """A header check before any work: a broken crop fails the export at once, not mid-way."""
    try:
        open_frame(path).close()  # opening reads the header only
    except DECODE_ERRORS as exc:
        raise InputError(f"{path}: not a readable image ({exc}); remove it from the "
                         "calibration data") from None


class FrameBatches:
    """ORT `CalibrationDataReader` over frame files: preprocessed batch by batch, on demand.

    Implements the reader protocol (`get_next`, `__len__`, `set_range`) without subclassing
    so importing this module does not import onnxruntime.
    """

    def __init__(self, frames: Sequence[Path], preprocess: PreprocessConfig, batch_size: int,
                 progress: Optional[tqdm] = None) -> None:
        self.frames = list(frames)
        self.preprocess = preprocess
        self.batch_size = batch_size
        self.progress = progress
        self._next = 0
        self._end = len(self)

    def __len__(self) -> int:
        return -(-len(self.frames) // self.batch_size)

    def set_range(self, start_index: int, end_index: int) -> None:
        self._next, self._end = start_index, min(end_index, len(self))

    def get_next(self) -> Optional[Dict[str, np.ndarray]]:
        if self._next >= self._end:
            return None
        paths = self.frames[self._next * self.batch_size:(self._next + 1) * self.batch_size]
        self._next += 1
        if self.progress is not None:
            self.progress.update(len(paths))
        return {FRAMES: preprocess_frames(paths, self.preprocess)}


def ort_method(method: str) -> Any:
    from onnxruntime.quantization import CalibrationMethod

    return {"entropy": CalibrationMethod.Entropy, "percentile": CalibrationMethod.Percentile,
            "minmax": CalibrationMethod.MinMax}[method]


def _calibrator_options(config: CalibrationConfig) -> Dict[str, Any]:
    """create_calibrator's extra options (its own key names, not quantize_static's).

    Ranges stay asymmetric where the method allows: TensorRT's S8 scheme symmetrises them
    itself (ActivationSymmetric), while the CPU's U8 scheme uses [0, max] after ReLU6 at full
    resolution.
    Percentile keeps ORT's and TensorRT's convention of a histogram of |x|.
    """
    if config.method == "percentile":
        return {"num_bins": config.histogram_bins, "percentile": config.percentile,
                "symmetric": True}
    if config.method == "entropy":
        return {"num_bins": config.histogram_bins, "num_quantized_bins": config.quantized_bins}
    return {}


def calibrate(model: Path, frames: Sequence[Path], preprocess: PreprocessConfig,
              config: CalibrationConfig, workdir: Path, *, progress: bool = True) -> Any:
    """Activation ranges (ORT `TensorsData`) of every float tensor of `model` over `frames`."""
    from onnxruntime.quantization import create_calibrator

    # ORT's histogram code prints to stdout; keep the CLI output to the progress bar.
    with contextlib.redirect_stdout(io.StringIO()), \
            tqdm(total=len(frames), desc="calibrate", unit="frame", disable=not progress,
                 leave=False) as bar:
        calibrator = create_calibrator(
            model, None, augmented_model_path=str(workdir / "augmented.onnx"),
            calibrate_method=ort_method(config.method), extra_options=_calibrator_options(config),
        )
        reader = FrameBatches(frames, preprocess, config.batch_size, progress=bar)
        for start, end in _chunks(len(frames), config.batch_size, config.batches_per_chunk):
            reader.set_range(start, end)
            calibrator.collect_data(reader)
        return calibrator.compute_data()


def _chunks(frames: int, batch_size: int, per_chunk: int) -> List[Tuple[int, int]]:
    """Batch ranges folded together; a short last batch gets a chunk of its own, because
    ORT's histogram calibrators stack a chunk's batches into one array."""
    full, rest = divmod(frames, batch_size)
    ranges = [(start, min(start + per_chunk, full)) for start in range(0, full, per_chunk)]
    return ranges + ([(full, full + 1)] if rest else [])


def save_ranges(ranges: Any, path: Path) -> None:
    """Write ranges in the JSON format `quantize_static(calibration_cache_path=...)` reads."""
    from onnxruntime.quantization.calibrate import save_tensors_data

    save_tensors_data(ranges, path)


def amax_by_tensor(ranges: Any) -> Dict[str, float]:
    """Tensor name -> max(|lowest|, |highest|): the symmetric range TensorRT uses."""
    out = {}
    for name, data in ranges.items():
        low, high = data.range_value  # scalars or 1-element arrays, by calibration method
        out[name] = float(np.abs(np.concatenate([np.ravel(low), np.ravel(high)])).max())
    return out
