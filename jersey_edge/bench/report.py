"""What a benchmark run produced, and its JSON form.

The JSON is the contract (`{"system", "engines", "rows", "streaming", "decode_path",
"ratios", ...}`, one row object per backend x precision x batch; "engines" the manifest's
records of the TensorRT engines, how and where they were built); the table, Markdown and
plot are views of it.
"""

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

import numpy as np

from ..core.fileio import atomic_write_text
from ..runtime.artifacts import Manifest


@dataclass(frozen=True)
class Row:
    """One backend x precision at one batch size. Times in ms, per batch unless named."""

    backend: str
    precision: str
    device: str
    batch: int  # sequences per call
    frames: int  # frames per sequence
    reps: int
    p50_ms: float  # encoder + head
    p95_ms: float
    p99_ms: float
    seq_per_s: float  # from p50
    frames_per_s: float
    encoder_ms: float  # p50 of the encoder stage
    head_ms: float  # p50 of the head stage
    encoder_gflops: Optional[float]  # 2 x encoder MACs / encoder_ms
    number_acc: Optional[float]
    agreement: Optional[float]  # predicted number equal to PyTorch FP32's
    max_abs_logit_diff: Optional[float]
    parity_n: int  # sequences the parity columns are computed on
    # p50 per interleaved round (all rows' rounds alternate): what ratios are computed from
    round_p50_ms: List[float] = field(default_factory=list)
    round_encoder_ms: List[float] = field(default_factory=list)

    @property
    def config(self) -> str:
        return f"{self.backend} {self.precision}"


@dataclass(frozen=True)
class Ratio:
    """`value` = numerator / denominator, each a labelled measurement.

    For row-vs-row ratios `value` is the median of the per-round ratios and `low`/`high`
    their interquartile range: the two rows were measured in the same rounds, so load that
    drifts during a run moves both sides of each round's ratio alike.
    """

    value: float
    what: str
    low: Optional[float] = None
    high: Optional[float] = None

    @classmethod
    def from_rounds(cls, per_round: Sequence[float], what: str) -> "Ratio":
        """Median and IQR of one ratio taken in each interleaved round."""
        low, median, high = np.percentile(per_round, [25, 50, 75])
        return cls(float(median), f"{what} (median of {len(per_round)} rounds)", float(low),
                   float(high))

    @property
    def spread(self) -> Optional[float]:
        """IQR relative to the median (0.1 = the middle half lies within a 10% band)."""
        if self.low is None or self.high is None or not self.value:
            return None
        return (self.high - self.low) / self.value


@dataclass
class BenchReport:
    system: Dict[str, Any]
    rows: List[Row]
    streaming: Optional[Dict[str, Any]] = None
    decode_path: Optional[Dict[str, Any]] = None
    ratios: Dict[str, Ratio] = field(default_factory=dict)
    inputs: Dict[str, Any] = field(default_factory=dict)  # where inputs and parity come from
    settings: Dict[str, Any] = field(default_factory=dict)  # warm-up, duration, batches, ...
    notes: List[str] = field(default_factory=list)  # skipped rows and why, caveats
    # engine file -> its manifest record (artifacts.EngineRecord as JSON); empty: none built
    engines: Dict[str, Dict[str, Any]] = field(default_factory=dict)

    def to_dict(self) -> Dict[str, Any]:
        return {
            "system": self.system,
            "engines": self.engines,
            "settings": self.settings,
            "inputs": self.inputs,
            "rows": [asdict(row) for row in self.rows],
            "streaming": self.streaming,
            "decode_path": self.decode_path,
            "ratios": {name: asdict(ratio) for name, ratio in self.ratios.items()},
            "notes": list(self.notes),
        }

    def configs(self) -> List[str]:
        """Backend/precision labels in row order, each once."""
        return list(dict.fromkeys(row.config for row in self.rows))


def engine_records(manifest: Manifest) -> Dict[str, Dict[str, Any]]:
    """The manifest's engine records, as the report keeps them."""
    return {name: record.to_json() for name, record in manifest.engines.items()}


def write_json(report: BenchReport, path: Path) -> Path:
    path = Path(path)
    atomic_write_text(path, json.dumps(report.to_dict(), indent=2, allow_nan=False) + "\n")
    return path
