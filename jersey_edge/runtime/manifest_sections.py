"""The sections of manifest.json as typed records, each read back with its values checked.

Sections whose inside is a measured table (INT8 recipes, graph reports) keep those tables as
plain JSON values: they are reports for people and tools, not values the runtime computes
with. A wrong value raises ValueError naming the field; the manifest turns it into an
ArtifactError.
"""

import math
from dataclasses import asdict, dataclass, fields
from typing import Any, Dict, List, Optional, Type, TypeVar

from ..core.parity import ParityRow
from .artifacts import PARTS, PRECISIONS

Json = Dict[str, Any]
Record = TypeVar("Record")


def show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def json_object(value: Any, name: str) -> Json:
    if not isinstance(value, dict):
        raise ValueError(f"{name} must be a JSON object, got {show(value)}")
    return dict(value)


def is_number(value: Any) -> bool:
    """A finite JSON number (bool is an int to Python, not a number here)."""
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and math.isfinite(value))


def record(cls: Type[Record], value: Any, name: str) -> Record:
    """A section's JSON object -> its record; every field must be present."""
    data = json_object(value, name)
    names = [f.name for f in fields(cls)]  # type: ignore[arg-type]
    missing = [n for n in names if n not in data]
    if missing:
        raise ValueError(f'"{name}" lacks {", ".join(missing)}')
    return cls(**{n: data[n] for n in names})


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
    """One calibration, the INT8 encoder per target (its file, options and recipe), the
    TensorRT calibration cache."""

    head: str
    encoder: Dict[str, Json]
    report: str
    mixed_precision: Json
    calibration: Json
    tensorrt_cache: Json


@dataclass(frozen=True)
class ParitySection:
    """What export's verification measured: one row per graph pair (and the reference)."""

    split: str
    provider: str
    rows: List[ParityRow]
    head_padding_invariance: Dict[str, float]  # head file -> max |Δ| with garbage padding

    @classmethod
    def from_json(cls, value: Any) -> "ParitySection":
        section = record(cls, value, "parity")
        if not isinstance(section.rows, list):
            raise ValueError(f'"parity.rows" must be a list, got {show(section.rows)}')
        rows = [record(ParityRow, row, "parity row") for row in section.rows]
        return cls(section.split, section.provider, rows, section.head_padding_invariance)


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
    def from_json(cls, value: Any) -> "AbstainSection":
        section = record(cls, value, "abstain")
        if not is_number(section.threshold) or not 0.0 <= section.threshold <= 1.0:
            raise ValueError(f'"abstain.threshold" must be in [0, 1], got {section.threshold}')
        return section


@dataclass(frozen=True)
class ExportRun:
    """When the export ran and how long it took."""

    created: str
    seconds: float


@dataclass(frozen=True)
class EngineRecord:
    """How one engine was built, kept in manifest.json's "engines" section under the engine's
    file name: an engine runs only on the TensorRT version and GPU it was built for, and only
    within its profile's shapes, so the record says which.

    flags: the builder's precision flags of a weakly typed build ("fp16", "int8"); none for a
    strongly typed one, whose graph's types are the precision. profile: input name -> its
    "min", "opt" and "max" shapes.
    """

    part: str
    precision: str
    graph: str
    tensorrt: str
    gpu: str
    compute_capability: str
    strongly_typed: bool
    flags: List[str]
    calibration_cache: bool
    profile: Dict[str, Dict[str, List[int]]]
    workspace_mb: int
    timing_cache: bool
    built: str  # UTC, ISO 8601
    seconds: float

    def to_json(self) -> Json:
        return asdict(self)

    @classmethod
    def from_json(cls, value: Any) -> "EngineRecord":
        """A record as manifest.json holds it, checked."""
        if not isinstance(value, dict):
            raise ValueError(f"an engine record must be an object, got {show(value)}")
        missing = [f.name for f in fields(cls) if f.name not in value]
        if missing:
            raise ValueError(f"an engine record lacks {', '.join(missing)}")
        engine = cls(**{f.name: value[f.name] for f in fields(cls)})
        engine._check()
        return engine

    def _check(self) -> None:
        texts = (self.part, self.precision, self.graph, self.tensorrt, self.gpu,
                 self.compute_capability, self.built)
        if not all(isinstance(text, str) for text in texts):
            raise ValueError("an engine record's names and versions must be strings")
        if self.part not in PARTS or self.precision not in PRECISIONS:
            raise ValueError(f"an engine record names an unknown part or precision "
                             f"({self.part}, {self.precision})")
        if not all(isinstance(flag, bool) for flag in (self.strongly_typed,
                                                        self.calibration_cache,
                                                        self.timing_cache)):
            raise ValueError("an engine record's typing and cache entries must be true or false")
        if not (isinstance(self.flags, list) and all(isinstance(f, str) for f in self.flags)):
            raise ValueError(f"engine flags must be a list of names, got {show(self.flags)}")
        if type(self.workspace_mb) is not int or not is_number(self.seconds):
            raise ValueError("an engine record's workspace_mb and seconds must be numbers")
        shapes = [shape for ranges in json_object(self.profile, "profile").values()
                  for shape in json_object(ranges, "profile range").values()]
        if not all(isinstance(s, list) and all(type(d) is int for d in s) for s in shapes):
            raise ValueError(f"engine profile shapes must be lists of integers, "
                             f"got {show(self.profile)}")


def optional(cls: Any, value: Any, name: str) -> Optional[Any]:
    """A section that may be null or absent."""
    if value is None:
        return None
    from_json = getattr(cls, "from_json", None)
    return from_json(value) if from_json else record(cls, value, name)
