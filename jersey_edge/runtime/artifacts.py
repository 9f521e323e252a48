"""The one place that knows the export folder: file names, tensor names, manifest.json.

Export writes through `write_manifest`; the runtime, the engine builder and the benchmark
read through `load_manifest`, which checks every value, and `Manifest.read`, which hands a
loader a file's bytes only after checking their sha256.
"""

import hashlib
import json
import math
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Dict, FrozenSet, Iterable, List, Optional, Tuple

from ..core.errors import ArtifactError
from ..core.fileio import NotRegularFileError, PathLike, atomic_write_text, read_regular_file
from ..core.preprocess import PreprocessConfig
from .manifest_sections import AbstainSection

SCHEMA_VERSION = 1
MANIFEST = "manifest.json"
GOLDEN = "golden.npz"
CALIBRATION_CACHE = "calibration.cache"
TIMING_CACHE = "timing.cache"
# Engines and timing cache of ONNX Runtime's TensorRT provider (built on the device, not
# listed in the manifest: the provider checks them against the graph and the GPU itself).
ORT_TENSORRT_CACHE = "ort-tensorrt-cache"
INT8_REPORT = "int8_report.json"
# The manifest section that describes each engine built on the device (see `EngineRecord`).
ENGINES = "engines"

# Tensor names of the two graphs; nothing else in the package spells them.
FRAMES = "frames"
EMBEDDINGS = "embeddings"
MASK = "mask"
TENS = "tens_logits"
ONES = "ones_logits"
ATTENTION = "attention"

PRECISIONS = ("fp32", "fp16", "int8")
PARTS = ("encoder", "head")

REQUIRED_KEYS = ("schema_version", "model", "preprocess", "labels", "max_frames", "files")


def onnx_name(part: str, precision: str, flavour: str = "") -> str:
    """encoder/head x fp32/fp16/int8 (+ a flavour: 'cpu', 'typed'; see `graphs_for`) -> name."""
    suffix = "" if precision == "fp32" else f".{precision}"
    if flavour:
        suffix += f".{flavour}"
    return f"{part}{suffix}.onnx"


def engine_name(part: str, precision: str) -> str:
    return f"{part}.{precision}.engine"


def polygraphy_inputs_name(part: str) -> str:
    """The golden inputs of `part` as Polygraphy's `--load-inputs` reads them."""
    return f"{part}.golden_inputs.json"


def polygraphy_outputs_name(part: str) -> str:
    """The PyTorch outputs for those inputs as Polygraphy's `--load-outputs` reads them."""
    return f"{part}.golden_outputs.json"


TARGETS = ("cpu", "tensorrt", "tensorrt-typed")


@dataclass(frozen=True)
class Serving:
    """The graph pair (and engines) that serve one precision on one target.

    target "tensorrt" is any TensorRT-compiled path whose precision builder flags pick
    (engines on TensorRT 8.x, ORT's TensorRT/CUDA providers); "tensorrt-typed" is an engine
    built as a strongly typed network (TensorRT >= 10), where the graph's own tensor types
    are the precision; "cpu" is ONNX Runtime's CPU provider.
    """

    precision: str
    target: str
    encoder: str
    head: str

    def graph(self, part: str) -> str:
        return self.encoder if part == "encoder" else self.head

    def engine(self, part: str) -> str:
        return engine_name(part, self.precision)


def graphs_for(precision: str, target: str) -> Serving:
    """The one serving table: which ONNX graphs run `precision` on `target`.

    INT8 has three encoder graphs from one calibration: symmetric S8 QDQ for TensorRT, the
    same with FP16 between its Q/DQ pairs (opset 19) for strongly typed TensorRT builds, and
    U8-activation QDQ for ONNX Runtime's x86 VNNI kernels. The GRU head is never quantized:
    it runs FP16 under TensorRT and FP32 on CPU (where FP16 is emulated and slow).
    """
    if precision not in PRECISIONS:
        raise ArtifactError(f"unknown precision {precision!r}: use one of {', '.join(PRECISIONS)}")
    if target not in TARGETS:
        raise ArtifactError(f"unknown target {target!r}: use one of {', '.join(TARGETS)}")
    if precision != "int8":
        return Serving(precision, target, onnx_name("encoder", precision),
                       onnx_name("head", precision))
    flavour = {"cpu": "cpu", "tensorrt": "", "tensorrt-typed": "typed"}[target]
    return Serving(precision, target, onnx_name("encoder", "int8", flavour),
                   onnx_name("head", "fp32" if target == "cpu" else "fp16"))


def _layout_names() -> FrozenSet[str]:
    """Every file name an artifacts folder may hold: graphs, engines and the fixed names."""
    graphs = {graphs_for(precision, target).graph(part) for part in PARTS
              for precision in PRECISIONS for target in TARGETS}
    engines = {engine_name(part, precision) for part in PARTS for precision in PRECISIONS}
    polygraphy = {name(part) for part in PARTS
                  for name in (polygraphy_inputs_name, polygraphy_outputs_name)}
    fixed = {GOLDEN, CALIBRATION_CACHE, TIMING_CACHE, INT8_REPORT}
    return frozenset(graphs | engines | polygraphy | fixed)


# A manifest may list only these plain names, so no entry can point outside the folder.
LAYOUT_NAMES = _layout_names()
_SHA256 = re.compile(r"[0-9a-f]{64}")


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

    def to_json(self) -> Dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, value: Any) -> "EngineRecord":
        """A record as manifest.json holds it, checked; ValueError says what is wrong."""
        if not isinstance(value, dict):
            raise ValueError(f"an engine record must be an object, got {_show(value)}")
        missing = [name for name in cls.__dataclass_fields__ if name not in value]
        if missing:
            raise ValueError(f"an engine record lacks {', '.join(missing)}")
        record = cls(**{name: value[name] for name in cls.__dataclass_fields__})
        record._check()
        return record

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
            raise ValueError(f"engine flags must be a list of names, got {_show(self.flags)}")
        if type(self.workspace_mb) is not int or not _is_number(self.seconds):
            raise ValueError("an engine record's workspace_mb and seconds must be numbers")
        shapes = [shape for ranges in _object(self.profile, "profile").values()
                  for shape in _object(ranges, "profile range").values()]
        if not all(isinstance(s, list) and all(type(d) is int for d in s) for s in shapes):
            raise ValueError(f"engine profile shapes must be lists of integers, "
                             f"got {_show(self.profile)}")


@dataclass
class Manifest:
    """What an artifacts folder holds and how to feed it. Mirrors manifest.json."""

    root: Path
    model: Dict[str, Any]
    preprocess: PreprocessConfig
    labels: Dict[str, Any]
    max_frames: int
    embed_dim: int
    files: Dict[str, str]  # file name -> sha256
    extra: Dict[str, Any] = field(default_factory=dict)

    def path(self, name: str) -> Path:
        return self.root / name

    def has(self, name: str) -> bool:
        return name in self.files

    def available_precisions(self) -> List[str]:
        return [p for p in PRECISIONS if self.has(onnx_name("encoder", p))]

    def read(self, name: str) -> bytes:
        """The file's bytes, read once and checked against its sha256 in manifest.json.

        Loaders take these bytes rather than reopening the path, so a file swapped after
        the check can never be the one that runs.
        """
        if name not in self.files:
            raise ArtifactError(f"{self.root}: {name} is not part of this export (re-run export)")
        path = self.path(name)
        data = _read_file(path, "copy the whole artifacts folder or re-export")
        if hashlib.sha256(data).hexdigest() != self.files[name]:
            raise ArtifactError(
                f"{path} does not match its sha256 in {MANIFEST}: the file was modified, "
                "truncated or swapped; re-export or copy the folder again"
            )
        return data

    def verify(self, name: str) -> Path:
        """The file's path, checked as by `read`: only for measurements that need a path.

        Anything that loads a file to run it must use the bytes of `read` instead.
        """
        self.read(name)
        return self.path(name)

    @property
    def degraded(self) -> Dict[str, List[str]]:
        """Precision -> its graph pairs that missed their parity target at export (published
        with accept_degraded); see `manifest_sections.ManifestBody.degraded`."""
        value = self.extra.get("degraded")
        return dict(value) if isinstance(value, dict) else {}

    @property
    def checkpoint(self) -> Optional[str]:
        """The checkpoint the graphs were exported from, as a path on the exporting machine."""
        value = self.extra.get("checkpoint")
        return value if isinstance(value, str) else None

    @property
    def abstain(self) -> Optional[AbstainSection]:
        """The calibrated "no legible number" threshold, None where export chose none."""
        try:
            return AbstainSection.from_json(self.extra.get("abstain"))
        except (TypeError, ValueError) as exc:
            raise ArtifactError(f"{self.root / MANIFEST}: {exc}; re-export") from None

    @property
    def engines(self) -> Dict[str, EngineRecord]:
        """Listed engine file name -> how it was built (the "engines" section; empty before
        any engine was built)."""
        section = self.extra.get(ENGINES, {})
        try:
            records = {name: EngineRecord.from_json(value)
                       for name, value in _object(section, ENGINES).items()}
        except (TypeError, ValueError) as exc:
            raise ArtifactError(f"{self.root / MANIFEST}: {exc}; re-export") from None
        return {name: records[name] for name in sorted(records) if name in self.files}

    @staticmethod
    def output_names(part: str) -> Tuple[str, ...]:
        """The outputs `part`'s graph must have: the runtime reads them by name."""
        return (EMBEDDINGS,) if part == "encoder" else (TENS, ONES, ATTENTION)

    def input_shapes(self, part: str) -> Dict[str, Tuple[int, ...]]:
        """The inputs of `part`'s graph that this manifest implies; -1 marks the batch."""
        if part == "encoder":
            return {FRAMES: (-1, 3, self.preprocess.height, self.preprocess.width)}
        return {EMBEDDINGS: (-1, self.max_frames, self.embed_dim), MASK: (-1, self.max_frames)}


class _Invalid(ValueError):
    """A manifest value of the wrong type or range; the message names the field."""


def load_manifest(root: PathLike) -> Manifest:
    """manifest.json of `root` (`~` expanded) with every value checked, or ArtifactError
    saying what is wrong."""
    return _load(Path(root).expanduser())[0]


def _load(root: Path) -> Tuple[Manifest, Dict[str, Any]]:
    """The checked manifest and the JSON object it was read from."""
    if not root.is_dir():
        raise ArtifactError(f"{root}: no artifacts folder here (run `jersey-edge export` first)")
    path = root / MANIFEST
    data = _read_json(path)
    missing = [k for k in REQUIRED_KEYS if k not in data]
    if missing:
        raise ArtifactError(f"{path} lacks {', '.join(missing)}; re-export")
    version = data["schema_version"]
    if type(version) is not int or version != SCHEMA_VERSION:
        raise ArtifactError(
            f"{path} has schema version {_show(version)}, this jersey-edge reads "
            f"{SCHEMA_VERSION}; re-export with this version"
        )
    try:
        manifest = Manifest(
            root=root,
            model=_object(data["model"], "model"),
            preprocess=_preprocess(data["preprocess"]),
            labels=_object(data["labels"], "labels"),
            max_frames=_positive_int(data["max_frames"], "max_frames"),
            embed_dim=_positive_int(data["model"]["embed_dim"], "model.embed_dim"),
            files=_files(data["files"]),
            extra={k: v for k, v in data.items() if k not in REQUIRED_KEYS},
        )
    except _Invalid as exc:
        raise ArtifactError(f"{path}: {exc}; re-export") from None
    except (KeyError, TypeError, ValueError) as exc:
        raise ArtifactError(f"{path} is malformed ({exc!r}); re-export") from None
    _check_sections(manifest, path)
    return manifest, data


def _check_sections(manifest: Manifest, path: Path) -> None:
    """The optional sections the runtime reads, each checked now rather than at first use:
    a wrong type there is a bad manifest, not a TypeError halfway through a run."""
    manifest.abstain  # noqa: B018 (each property raises ArtifactError for a bad section)
    manifest.engines  # noqa: B018
    degraded = manifest.extra.get("degraded", {})
    if not (isinstance(degraded, dict) and all(
            k in PRECISIONS and isinstance(v, list) and all(isinstance(p, str) for p in v)
            for k, v in degraded.items())):
        raise ArtifactError(f"{path}: \"degraded\" must map precisions to lists of graph "
                            f"pairs, got {_show(degraded)}; re-export")
    checkpoint = manifest.extra.get("checkpoint")
    if checkpoint is not None and not isinstance(checkpoint, str):
        raise ArtifactError(f"{path}: \"checkpoint\" must be a path, got {_show(checkpoint)}; "
                            "re-export")


def _read_json(path: Path) -> Dict[str, Any]:
    raw = _read_file(path, "run `jersey-edge export`")
    try:
        data = json.loads(raw.decode("utf-8"))
    except RecursionError:
        raise ArtifactError(f"{path} is nested too deeply to be a manifest; re-export") from None
    except ValueError as exc:  # also UnicodeDecodeError
        raise ArtifactError(f"{path} is not valid JSON ({exc}); re-export") from None
    if not isinstance(data, dict):
        raise ArtifactError(f"{path} must hold a JSON object; re-export")
    return data


def _read_file(path: Path, if_missing: str) -> bytes:
    """`path`'s bytes, or ArtifactError saying whether it is missing, not a file or unreadable."""
    try:
        return read_regular_file(path)
    except FileNotFoundError:
        raise ArtifactError(f"{path} is missing: {if_missing}") from None
    except NotRegularFileError as exc:
        raise ArtifactError(
            f"{exc}: an artifacts folder holds plain files only, copy the files themselves "
            "(not links) or re-export"
        ) from None
    except OSError as exc:
        raise ArtifactError(
            f"{path} cannot be read ({exc.strerror or exc}): check its permissions or copy "
            "the folder again"
        ) from None


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _object(value: Any, name: str) -> Dict[str, Any]:
    if not isinstance(value, dict):
        raise _Invalid(f"{name} must be a JSON object, got {_show(value)}")
    return dict(value)


def _is_number(value: Any) -> bool:
    """A finite JSON number (bool is an int to Python, not a number here)."""
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and math.isfinite(value))


def _positive_int(value: Any, name: str) -> int:
    if type(value) is not int or value < 1:
        raise _Invalid(f"{name} must be a positive integer, got {_show(value)}")
    return value


def _triple(value: Any, name: str, *, positive: bool) -> None:
    numbers = isinstance(value, list) and len(value) == 3 and all(map(_is_number, value))
    if not numbers or (positive and min(value) <= 0):
        kind = "positive numbers" if positive else "finite numbers"
        raise _Invalid(f"{name} must be 3 {kind} (one per RGB channel), got {_show(value)}")


def _preprocess(value: Any) -> PreprocessConfig:
    """Values the preprocessing can compute with: sizes >= 1, 8-bit padding, finite numbers,
    a non-zero std (it divides)."""
    data = _object(value, "preprocess")
    _positive_int(data["height"], "preprocess.height")
    _positive_int(data["width"], "preprocess.width")
    pad = data["pad_value"]
    if type(pad) is not int or not 0 <= pad <= 255:
        raise _Invalid(f"preprocess.pad_value must be an integer 0-255, got {_show(pad)}")
    if not _is_number(data["sharpness"]) or data["sharpness"] < 0:
        raise _Invalid(f"preprocess.sharpness must be a finite number >= 0, "
                       f"got {_show(data['sharpness'])}")
    _triple(data["mean"], "preprocess.mean", positive=False)
    _triple(data["std"], "preprocess.std", positive=True)
    return PreprocessConfig.from_dict(data)


def _files(value: Any) -> Dict[str, str]:
    files = _object(value, "files")
    for name, digest in files.items():
        _check_name(name)
        if not isinstance(digest, str) or not _SHA256.fullmatch(digest):
            raise _Invalid(f"files[{name!r}] must be a sha256 hex digest, got {_show(digest)}")
    return files


def _check_name(name: str) -> None:
    if name not in LAYOUT_NAMES:
        raise _Invalid(
            f"it lists {_show(name)}, which is not a file of an artifacts folder (only the "
            "export's own plain file names may be listed)"
        )


def write_manifest(root: PathLike, body: Dict[str, Any], file_names: Iterable[str]) -> Path:
    """Hash `file_names` in `root` and write manifest.json last, atomically.

    Written last so that a folder whose export was interrupted has no manifest that vouches
    for half-written files.
    """
    root = Path(root)
    return _write(root, body, _hashes(root, file_names))


def add_files(root: PathLike, file_names: Optional[List[str]] = None,
              engines: Optional[Dict[str, EngineRecord]] = None) -> Path:
    """List new files (e.g. engines built on the device) in an existing manifest.

    Files already listed keep their hash and must still match it: re-hashing them would
    vouch for a file modified since export, or during an engine build. The names given are
    hashed now, replacing any earlier hash (a rebuilt engine). `engines` (engine file name ->
    how it was built) are listed too, and their records land in the "engines" section in the
    same atomic write as their hashes, so no record outlives or precedes its engine.
    """
    manifest, data = _load(Path(root).expanduser())
    records = dict(engines or {})
    new = set(file_names or []) | set(records)
    for name in sorted(set(manifest.files) - new):
        manifest.read(name)
    body = {k: v for k, v in data.items() if k not in ("schema_version", "files")}
    if records:
        kept = {name: record.to_json() for name, record in manifest.engines.items()}
        body[ENGINES] = {**kept, **{name: r.to_json() for name, r in records.items()}}
    return _write(manifest.root, body, {**manifest.files, **_hashes(manifest.root, new)})


def _hashes(root: Path, names: Iterable[str]) -> Dict[str, str]:
    hashes = {}
    for name in sorted(names):
        try:
            _check_name(name)
        except _Invalid as exc:
            raise ArtifactError(f"{root / MANIFEST}: {exc}") from None
        hashes[name] = hashlib.sha256(_read_file(root / name, "it was never written")).hexdigest()
    return hashes


def _write(root: Path, body: Dict[str, Any], files: Dict[str, str]) -> Path:
    data = {"schema_version": SCHEMA_VERSION, **body, "files": dict(sorted(files.items()))}
    target = root / MANIFEST
    atomic_write_text(target, json.dumps(data, indent=2, sort_keys=True) + "\n")
    return target
