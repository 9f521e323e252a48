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
class AbstainSection:
    """The confidence below which a prediction says "no legible number" (number None).

    Chosen at export on `split` as the lowest threshold whose accepted predictions are
    correct at least `target_precision` of the time; `coverage`/`accuracy` are what it gave
    there over `sequences` sequences. Confidence is P(tens) * P(ones) of the chosen digits.
    """

    threshold: float
    target_precision: float
    split: str
    sequences: int
    coverage: float
    accuracy: float

    @classmethod
    def from_json(cls, value: Any) -> Optional["AbstainSection"]:
        """The manifest's "abstain" value (None or absent: never abstain), checked."""
        if value is None:
            return None
        if not isinstance(value, dict) or not set(_ABSTAIN_FIELDS) <= set(value):
            raise ValueError(f'"abstain" must be an object with {", ".join(_ABSTAIN_FIELDS)}')
        section = cls(**{k: value[k] for k in _ABSTAIN_FIELDS})
        if not 0.0 <= float(section.threshold) <= 1.0:
            raise ValueError(f'"abstain.threshold" must be in [0, 1], got {section.threshold}')
        return section


_ABSTAIN_FIELDS = ("threshold", "target_precision", "split", "sequences", "coverage", "accuracy")


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
    abstain: Optional[AbstainSection] = None
    # precision -> graph pairs that missed their parity target (export --accept-degraded)
    degraded: Dict[str, List[str]] = field(default_factory=dict)

    def to_json(self) -> Json:
        provenance = self.provenance
        return {
            "model": self.model, "preprocess": self.preprocess, "labels": self.labels,
            "max_frames": self.max_frames, "opset": self.opset, "graphs": self.graphs,
            "golden": asdict(self.golden),
            "fp16": _or_none(self.fp16), "int8": _or_none(self.int8),
            "parity": _or_none(self.parity), "abstain": _or_none(self.abstain),
            "degraded": self.degraded,
            "checkpoint": provenance.checkpoint,
            "checkpoint_sha256": provenance.checkpoint_sha256,
            "data_root": provenance.data_root, "tools": provenance.tools,
            "export": {"created": provenance.created, "seconds": provenance.seconds},
        }


def _or_none(section: Optional[Any]) -> Optional[Json]:
    return None if section is None else asdict(section)
