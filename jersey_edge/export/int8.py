"""--int8: one calibration pass over training frames -> two INT8 encoders + a TensorRT cache."""

from pathlib import Path
from typing import Any, Dict, Sequence

import onnx

from ..runtime.artifacts import CALIBRATION_CACHE
from ..runtime.preprocess import PreprocessConfig
from . import tensorrt_cache
from .calibration import CalibrationConfig, amax_by_tensor, calibrate, save_ranges
from .manifest_body import INT8_HEAD
from .onnx_graphs import check_graph
from .quantize import FLAVOURS, quantize_encoder

CALIBRATION_SPLIT = "train"


def build_int8(fp32_encoder: Path, stage: Path, scratch: Path, *, frames: Sequence[Path],
               preprocess: PreprocessConfig, config: CalibrationConfig,
               progress: bool = True) -> Dict[str, Any]:
    """Write both INT8 encoders and calibration.cache into `stage`; return the manifest's
    "int8" section. `frames` come from `calibration.select_frames` over the training split;
    `scratch` holds throwaway files (ORT's augmented model, the ranges)."""
    ranges = calibrate(fp32_encoder, frames, preprocess, config, scratch, progress=progress)
    ranges_file = scratch / "ranges.json"
    save_ranges(ranges, ranges_file)
    flavours = {}
    for flavour in FLAVOURS:
        path = quantize_encoder(fp32_encoder, stage, flavour, ranges_file=ranges_file,
                                method=config.method)
        check_graph(onnx.load(str(path)))
        flavours[flavour.name] = flavour.describe()
    entries = tensorrt_cache.write_cache(stage / CALIBRATION_CACHE, onnx.load(str(fp32_encoder)),
                                         amax_by_tensor(ranges))
    return {
        "head": INT8_HEAD,
        "encoder": flavours,
        "calibration": {
            **config.to_dict(),
            "source_split": CALIBRATION_SPLIT,
            "frames": len(frames),
            "sequences": len({p.parent for p in frames}),
            "preprocessing": "runtime eval preprocessing (numpy), as at inference",
            "note": "one pass; both flavours quantize from the same ranges",
        },
        "tensorrt_cache": {
            "file": CALIBRATION_CACHE,
            "header": tensorrt_cache.HEADER,
            "calibrator": "IInt8EntropyCalibrator2 (replays the cache)",
            "entries": entries,
            "scale": "amax / 127 per tensor of encoder.onnx, amax = max(|min|, |max|)",
            "note": "TensorRT ignores a cache whose header names another TensorRT version; "
                    "rewrite the version field to the local one",
        },
    }
