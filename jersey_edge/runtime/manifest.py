"""manifest.json as one typed record: what export writes and the runtime reads.

Export builds a `Manifest` and writes it through `write_manifest`, which hashes the files and
writes last. The runtime, the engine builder and the benchmark read it through
`load_manifest`, which checks every value, and `Manifest.read`, which hands a loader a file's
bytes only after checking their sha256.
"""

import hashlib
import json
import re
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Tuple

from ..core.errors import ArtifactError, InputError
from ..core.fileio import NotRegularFileError, PathLike, atomic_write_text, read_regular_file
from ..core.preprocess import PreprocessConfig
from .artifacts import (
    ATTENTION,
    EMBEDDINGS,
    ENGINES,
    FRAMES,
    LAYOUT_NAMES,
    MANIFEST,
    MASK,
    ONES,
    PARTS,
    PRECISIONS,
    TENS,
    onnx_name,
)
from .manifest_sections import (
    AbstainSection,
    EngineRecord,
    ExportRun,
    Fp16Section,
    GoldenSection,
    Int8Section,
    Json,
    ParitySection,
    is_number,
    json_object,
    optional,
    show,
)

SCHEMA_VERSION = 1
REQUIRED_KEYS = ("schema_version", "model", "preprocess", "labels", "max_frames", "files")
_SHA256 = re.compile(r"[0-9a-f]{64}")

Shape = Tuple[int, ...]
ShapeRange = Tuple[Shape, Shape, Shape]  # min, opt, max
# Largest batch of sequences one call may run unless told otherwise.
DEFAULT_MAX_SEQUENCES = 16


@dataclass(frozen=True)
class Manifest:
    """What an artifacts folder holds and how to feed it: manifest.json, key for key.

    Everything after `files` is optional, so a hand-made folder (tests, a user's own graphs)
    needs only the model, preprocessing, labels and frame count.
    """

    root: Path
    model: Json
    preprocess: PreprocessConfig
    labels: Json
    max_frames: int
    files: Dict[str, str] = field(default_factory=dict)  # file name -> sha256
    opset: Optional[int] = None
    graphs: Dict[str, Json] = field(default_factory=dict)  # ONNX file -> inputs, outputs, ops
    golden: Optional[GoldenSection] = None
    fp16: Optional[Fp16Section] = None
    int8: Optional[Int8Section] = None
    parity: Optional[ParitySection] = None
    abstain: Optional[AbstainSection] = None  # None: never abstain
    # precision -> graph pairs that missed their parity target (export --accept-degraded)
    degraded: Dict[str, List[str]] = field(default_factory=dict)
    checkpoint: Optional[str] = None  # a path on the exporting machine
    checkpoint_sha256: Optional[str] = None
    data_root: Optional[str] = None
    tools: Dict[str, str] = field(default_factory=dict)
    export: Optional[ExportRun] = None
    engines: Dict[str, EngineRecord] = field(default_factory=dict)  # engine file -> its build

    @property
    def embed_dim(self) -> int:
        return int(self.model["embed_dim"])

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

    @staticmethod
    def output_names(part: str) -> Tuple[str, ...]:
        """The outputs `part`'s graph must have: the runtime reads them by name."""
        return (EMBEDDINGS,) if part == "encoder" else (TENS, ONES, ATTENTION)

    def input_shapes(self, part: str) -> Dict[str, Tuple[int, ...]]:
        """The inputs of `part`'s graph that this manifest implies; -1 marks the batch."""
        if part == "encoder":
            return {FRAMES: (-1, 3, self.preprocess.height, self.preprocess.width)}
        return {EMBEDDINGS: (-1, self.max_frames, self.embed_dim), MASK: (-1, self.max_frames)}

    def profile_shapes(self, part: str, max_sequences: int) -> Dict[str, ShapeRange]:
        """(min, opt, max) shapes per input for the backends that compile engines (TensorRT,
        ONNX Runtime's TensorRT provider), so an engine built by either covers the same batches.

        The batch is the only dynamic dimension. The optimum is one sequence (`max_frames`
        frames for the encoder, one sequence for the head: streaming and single predictions);
        the maximum is `max_sequences` sequences.
        """
        if max_sequences < 1:
            raise InputError(f"max_sequences must be at least 1, got {max_sequences}")
        frames = self.max_frames
        if part == "encoder":
            image = (3, self.preprocess.height, self.preprocess.width)
            return {FRAMES: ((1, *image), (frames, *image), (max_sequences * frames, *image))}
        if part == "head":
            embed = (frames, self.embed_dim)
            return {
                EMBEDDINGS: ((1, *embed), (1, *embed), (max_sequences, *embed)),
                MASK: ((1, frames), (1, frames), (max_sequences, frames)),
            }
        raise InputError(f"unknown part {part!r}: use {' or '.join(PARTS)}")

    def to_json(self) -> Json:
        """The JSON object manifest.json holds (engines only once one is built)."""
        data = asdict(self)
        del data["root"]
        data["preprocess"] = self.preprocess.to_dict()
        if not self.engines:
            del data[ENGINES]
        return {"schema_version": SCHEMA_VERSION, **data, "files": dict(sorted(self.files.items()))}

    @classmethod
    def from_json(cls, data: Json, root: Path) -> "Manifest":
        """The manifest of folder `root`, every value checked; ValueError names the field."""
        missing = [k for k in REQUIRED_KEYS if k not in data]
        if missing:
            raise _Missing(f"lacks {', '.join(missing)}")
        version = data["schema_version"]
        if type(version) is not int or version != SCHEMA_VERSION:
            raise _Outdated(f"has schema version {show(version)}, this jersey-edge reads "
                            f"{SCHEMA_VERSION}")
        model = json_object(data["model"], "model")
        _positive_int(model.get("embed_dim"), "model.embed_dim")
        files = _files(data["files"])
        engines = json_object(data.get(ENGINES, {}), ENGINES)
        return cls(
            root=root, model=model, preprocess=_preprocess(data["preprocess"]),
            labels=json_object(data["labels"], "labels"),
            max_frames=_positive_int(data["max_frames"], "max_frames"), files=files,
            opset=data.get("opset"), graphs=json_object(data.get("graphs", {}), "graphs"),
            golden=optional(GoldenSection, data.get("golden"), "golden"),
            fp16=optional(Fp16Section, data.get("fp16"), "fp16"),
            int8=optional(Int8Section, data.get("int8"), "int8"),
            parity=optional(ParitySection, data.get("parity"), "parity"),
            abstain=optional(AbstainSection, data.get("abstain"), "abstain"),
            degraded=_degraded(data.get("degraded", {})),
            checkpoint=_text(data.get("checkpoint"), "checkpoint", "a path"),
            checkpoint_sha256=_text(data.get("checkpoint_sha256"), "checkpoint_sha256", "text"),
            data_root=_text(data.get("data_root"), "data_root", "a path"),
            tools=json_object(data.get("tools", {}), "tools"),
            export=optional(ExportRun, data.get("export"), "export"),
            engines={name: record for name, record in _engines(engines).items()
                     if name in files})


class _Outdated(ValueError):
    """A manifest of another schema version."""


class _Missing(ValueError):
    """A manifest without one of the keys every folder needs."""


def load_manifest(root: PathLike) -> Manifest:
    """manifest.json of `root` (`~` expanded) with every value checked, or ArtifactError
    saying what is wrong."""
    root = Path(root).expanduser()
    if not root.is_dir():
        raise ArtifactError(f"{root}: no artifacts folder here (run `jersey-edge export` first)")
    path = root / MANIFEST
    data = _read_json(path)
    try:
        return Manifest.from_json(data, root)
    except _Outdated as exc:
        raise ArtifactError(f"{path} {exc}; re-export with this version") from None
    except _Missing as exc:
        raise ArtifactError(f"{path} {exc}; re-export") from None
    except ValueError as exc:
        raise ArtifactError(f"{path}: {exc}; re-export") from None
    except (KeyError, TypeError) as exc:
        raise ArtifactError(f"{path} is malformed ({exc!r}); re-export") from None


def write_manifest(manifest: Manifest, file_names: Iterable[str]) -> Path:
    """Hash `file_names` in the manifest's folder and write manifest.json last, atomically.

    Written last so that a folder whose export was interrupted has no manifest that vouches
    for half-written files.
    """
    return _write(replace(manifest, files=_hashes(manifest.root, file_names)))


def add_files(root: PathLike, file_names: Optional[List[str]] = None,
              engines: Optional[Dict[str, EngineRecord]] = None) -> Path:
    """List new files (e.g. engines built on the device) in an existing manifest.

    Files already listed keep their hash and must still match it: re-hashing them would
    vouch for a file modified since export, or during an engine build. The names given are
    hashed now, replacing any earlier hash (a rebuilt engine). `engines` (engine file name ->
    how it was built) are listed too, and their records land in the "engines" section in the
    same atomic write as their hashes, so no record outlives or precedes its engine.
    """
    manifest = load_manifest(root)
    records = dict(engines or {})
    new = set(file_names or []) | set(records)
    for name in sorted(set(manifest.files) - new):
        manifest.read(name)
    files = {**manifest.files, **_hashes(manifest.root, new)}
    return _write(replace(manifest, files=files, engines={**manifest.engines, **records}))


def _write(manifest: Manifest) -> Path:
    target = manifest.root / MANIFEST
    atomic_write_text(target, json.dumps(manifest.to_json(), indent=2, sort_keys=True) + "\n")
    return target


def _hashes(root: Path, names: Iterable[str]) -> Dict[str, str]:
    hashes = {}
    for name in sorted(names):
        if name not in LAYOUT_NAMES:
            raise ArtifactError(f"{root / MANIFEST}: {_unlisted(name)}")
        hashes[name] = hashlib.sha256(_read_file(root / name, "it was never written")).hexdigest()
    return hashes


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


def _engines(section: Json) -> Dict[str, EngineRecord]:
    """Every record checked, listed engine or not: a bad record is a bad manifest."""
    return {name: EngineRecord.from_json(section[name]) for name in sorted(section)}


def _positive_int(value: Any, name: str) -> int:
    if type(value) is not int or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {show(value)}")
    return value


def _text(value: Any, name: str, what: str) -> Optional[str]:
    if value is not None and not isinstance(value, str):
        raise ValueError(f'"{name}" must be {what}, got {show(value)}')
    return value


def _degraded(value: Any) -> Dict[str, List[str]]:
    if not (isinstance(value, dict) and all(
            k in PRECISIONS and isinstance(v, list) and all(isinstance(p, str) for p in v)
            for k, v in value.items())):
        raise ValueError(f'"degraded" must map precisions to lists of graph pairs, '
                         f"got {show(value)}")
    return dict(value)


def _triple(value: Any, name: str, *, positive: bool) -> None:
    numbers = isinstance(value, list) and len(value) == 3 and all(map(is_number, value))
    if not numbers or (positive and min(value) <= 0):
        kind = "positive numbers" if positive else "finite numbers"
        raise ValueError(f"{name} must be 3 {kind} (one per RGB channel), got {show(value)}")


def _preprocess(value: Any) -> PreprocessConfig:
    """Values the preprocessing can compute with: sizes >= 1, 8-bit padding, finite numbers,
    a non-zero std (it divides)."""
    data = json_object(value, "preprocess")
    _positive_int(data["height"], "preprocess.height")
    _positive_int(data["width"], "preprocess.width")
    pad = data["pad_value"]
    if type(pad) is not int or not 0 <= pad <= 255:
        raise ValueError(f"preprocess.pad_value must be an integer 0-255, got {show(pad)}")
    if not is_number(data["sharpness"]) or data["sharpness"] < 0:
        raise ValueError(f"preprocess.sharpness must be a finite number >= 0, "
                         f"got {show(data['sharpness'])}")
    _triple(data["mean"], "preprocess.mean", positive=False)
    _triple(data["std"], "preprocess.std", positive=True)
    return PreprocessConfig.from_dict(data)


def _files(value: Any) -> Dict[str, str]:
    files = json_object(value, "files")
    for name, digest in files.items():
        if name not in LAYOUT_NAMES:
            raise ValueError(_unlisted(name))
        if not isinstance(digest, str) or not _SHA256.fullmatch(digest):
            raise ValueError(f"files[{name!r}] must be a sha256 hex digest, got {show(digest)}")
    return files


def _unlisted(name: str) -> str:
    return (f"it lists {show(name)}, which is not a file of an artifacts folder (only the "
            "export's own plain file names may be listed)")
