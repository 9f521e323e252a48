"""The sections of manifest.json as typed records: what export writes, field by field.

`ManifestBody.to_json` gives the exact JSON object `artifacts.write_manifest` stores (it adds
the schema version and the file hashes). Sections whose inside is a measured table (parity
rows, INT8 flavours and their recipe) keep those tables as plain JSON values: they are
reports for people and tools, not values the runtime computes with.
"""

from dataclasses import asdict, dataclass, field
from typing import Any, Dict, List, Optional

Json = Dict[str, Any]


@dataclass(frozen=True)
class GoldenSection:
    """golden.npz: which test sequences, how long, and what the PyTorch logits are."""

    file: str
    source_split: str
    sequences: int
    lengths: List[int]
    arrays: List[str]
    logits: str = "PyTorch FP32"


@dataclass(frozen=True)
class Fp16Section:
    """Which nodes of the FP16 graphs stay FP32, and why."""

    io: str
    fp32_ops: List[str]
    fp32_nodes: Dict[str, List[str]]  # FP16 file -> its FP32 nodes
    why: str


@dataclass(frozen=True)
class Int8Section:
    """One calibration, the encoder layouts (TensorRT, its typed form, CPU), the TensorRT cache."""

    head: str
    encoder: Dict[str, Json]  # flavour -> its file, quantization options and recipe
    report: str
    mixed_precision: Json
    calibration: Json
    tensorrt_cache: Json


@dataclass(frozen=True)
class ParitySection:
    """What export's verification measured: one row per graph pair (and the reference)."""

    split: str
    provider: str
    rows: List[Json]
    head_padding_invariance: Dict[str, float]  # head file -> max |Δ| with garbage padding


@dataclass(frozen=True)
class Provenance:
    """Where the graphs come from and with which tools."""

    checkpoint: str
    checkpoint_sha256: str
    data_root: str
    tools: Dict[str, str]
    created: str
    seconds: float


@dataclass(frozen=True)
class ManifestBody:
    """Everything in manifest.json but the schema version and the file hashes."""

    model: Json
    preprocess: Json
    labels: Json
    max_frames: int
    opset: int
    graphs: Dict[str, Json]  # ONNX file -> its inputs, outputs and op counts
    golden: GoldenSection
    provenance: Provenance
    fp16: Optional[Fp16Section] = None
    int8: Optional[Int8Section] = None
    parity: Optional[ParitySection] = None
    # precision -> graph pairs that missed their parity target (export --accept-degraded)
    degraded: Dict[str, List[str]] = field(default_factory=dict)

    def to_json(self) -> Json:
        provenance = self.provenance
        return {
            "model": self.model, "preprocess": self.preprocess, "labels": self.labels,
            "max_frames": self.max_frames, "opset": self.opset, "graphs": self.graphs,
            "golden": asdict(self.golden),
            "fp16": _or_none(self.fp16), "int8": _or_none(self.int8),
            "parity": _or_none(self.parity), "degraded": self.degraded,
            "checkpoint": provenance.checkpoint,
            "checkpoint_sha256": provenance.checkpoint_sha256,
            "data_root": provenance.data_root, "tools": provenance.tools,
            "export": {"created": provenance.created, "seconds": provenance.seconds},
        }


def _or_none(section: Optional[Any]) -> Optional[Json]:
    return None if section is None else asdict(section)
