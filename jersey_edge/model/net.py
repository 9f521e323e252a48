"""JerseyNet = head(encoder(frames)), plus building it and saving/loading checkpoints.

The encoder/head split is the model's own structure: export writes them as two graphs and the
runtime's streaming mode caches encoder outputs per frame. A checkpoint carries everything
needed to rebuild the model (config, preprocessing, label layout, max_frames), so nothing is
re-guessed at load time, and it loads with `weights_only=True` (no arbitrary pickles).
"""

import dataclasses
import hashlib
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Tuple

import torch
from torch import Tensor, nn

from ..core.digits import label_layout
from ..core.errors import CheckpointError, JerseyEdgeError
from ..core.fileio import PathLike, atomic_path
from ..core.preprocess import PreprocessConfig
from .config import ModelConfig
from .encoder import FrameEncoder
from .head import TemporalHead

CHECKPOINT_FORMAT = "jersey-edge-checkpoint"
CHECKPOINT_VERSION = 1
_PLAIN = (str, int, float, bool, type(None), Tensor)
_FIELD_TYPES = {"model_config": dict, "preprocess": dict, "labels": dict, "max_frames": int,
                "model_state": dict, "extra": dict}
_RETRAIN = "retrain with this jersey-edge version or use the version that wrote it"


class JerseyNet(nn.Module):
    """frames [B,T,3,H,W] + mask [B,T] -> tens [B,11], ones [B,10], attention [B,T]."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.encoder = FrameEncoder(cfg)
        self.head = TemporalHead(cfg)

    def forward(self, frames: Tensor, mask: Tensor) -> Tuple[Tensor, Tensor, Tensor]:
        return self.head(self.embed(frames), mask)

    def embed(self, frames: Tensor) -> Tensor:
        """[B,T,3,H,W] -> per-frame embeddings [B,T,embed_dim] (training reads them too)."""
        b, t = frames.shape[:2]
        return self.encoder(frames.flatten(0, 1)).view(b, t, -1)

    def embed_trunk_features(self, features: Tensor) -> Tensor:
        """Like embed, from cached encoder.trunk outputs [B,T,C,h,w] (train/trunk_cache.py)."""
        b, t = features.shape[:2]
        return self.encoder.tail(features.flatten(0, 1)).view(b, t, -1)


def build_model(cfg: ModelConfig) -> JerseyNet:
    return JerseyNet(cfg)


@dataclass(frozen=True)
class TrainingRecord:
    """What export, evaluate and bench need from the run that wrote a checkpoint: the seed
    its split was made with and the dataset it was trained on (None if not recorded)."""

    seed: int
    data_root: Optional[Path]

    @classmethod
    def from_extra(cls, extra: Dict[str, Any]) -> "TrainingRecord":
        """Read from a checkpoint's `extra` ("train_config" and "data_root", as training
        writes them); seed 0 (training's default) when the run recorded no configuration."""
        config = extra.get("train_config")
        seed = config.get("seed", 0) if isinstance(config, dict) else 0
        if type(seed) is not int:
            raise CheckpointError(f"the checkpoint records seed {seed!r}, not an integer; "
                                  f"{_RETRAIN}")
        root = extra.get("data_root")
        return cls(seed=seed, data_root=Path(root) if isinstance(root, str) and root else None)


@dataclass
class LoadedCheckpoint:
    model: JerseyNet  # in eval mode, on the CPU
    model_cfg: ModelConfig  # as trained (pretrained=True means it *started* from ImageNet)
    preprocess: PreprocessConfig
    max_frames: int
    extra: Dict[str, Any]
    raw: Dict[str, Any]
    sha256: str  # of the bytes this was loaded from, not of whatever the path holds later

    @property
    def record(self) -> TrainingRecord:
        return TrainingRecord.from_extra(self.extra)


def save_checkpoint(path: PathLike, *, model_state: Mapping[str, Tensor], model_cfg: ModelConfig,
                    preprocess: PreprocessConfig, max_frames: int,
                    extra: Dict[str, Any]) -> Path:
    """Write atomically: an interrupted save never leaves a half-written best.pt.

    `extra` may hold only dicts, lists, tuples, primitives and tensors, so that the file
    loads with weights_only=True; anything else is refused here, not at load time.
    """
    _check_plain(extra, "extra")
    payload = {
        "format": CHECKPOINT_FORMAT,
        "version": CHECKPOINT_VERSION,
        "model_config": model_cfg.to_dict(),
        "preprocess": preprocess.to_dict(),
        "labels": label_layout(),
        "max_frames": int(max_frames),
        "model_state": dict(model_state),
        "extra": extra,
    }
    path = Path(path)
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)
    return path


def load_checkpoint(path: PathLike) -> LoadedCheckpoint:
    """Rebuild the model from a checkpoint, or CheckpointError saying what is wrong.

    `path` may name a shipped checkpoint (model/shipped.py) where no such file exists here;
    its sha256 is then checked against the one recorded for it.
    """
    path, expected_sha256 = resolve_checkpoint(path)
    data = _read_bytes(path)
    sha256 = hashlib.sha256(data).hexdigest()
    if expected_sha256 is not None:
        check_sha256(path, sha256, expected_sha256)
    raw = _read(path, data)
    try:
        model_cfg = ModelConfig.from_dict(raw["model_config"])
        preprocess = PreprocessConfig.from_dict(raw["preprocess"])
        max_frames = raw["max_frames"]
        model = build_model(dataclasses.replace(model_cfg, pretrained=False))
    except (JerseyEdgeError, AttributeError, KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(f"{path} has an unusable configuration ({exc}); {_RETRAIN}") from None
    if raw["labels"] != label_layout():
        raise CheckpointError(f"{path} has label layout {raw['labels']}, expected "
                              f"{label_layout()}; {_RETRAIN}")
    state = raw["model_state"]
    problems = _state_problems(model.state_dict(), state)
    if problems:
        raise CheckpointError(f"{path} is from another architecture ({problems}); {_RETRAIN}")
    model.load_state_dict(state)
    return LoadedCheckpoint(model=model.eval(), model_cfg=model_cfg, preprocess=preprocess,
                            max_frames=max_frames, extra=raw["extra"], raw=raw,
                            sha256=sha256)


def _read_bytes(path: Path) -> bytes:
    """The checkpoint read once: what is loaded and what is hashed are the same bytes."""
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint (train first, or give the path of "
                              "another checkpoint)")
    try:
        return path.read_bytes()
    except OSError as exc:
        raise CheckpointError(f"{path} cannot be read ({exc.strerror or exc}): check its "
                              "permissions") from None


def _read(path: Path, data: bytes) -> Dict[str, Any]:
    try:
        raw = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except Exception as exc:  # torch.load raises a zoo of types for damaged files
        # PyTorch's own message runs to paragraphs (weights_only advice): name its type only.
        raise CheckpointError(f"{path} is corrupt, truncated or not a checkpoint "
                              f"({type(exc).__name__} while reading it); copy it again or "
                              "retrain") from None
    if not isinstance(raw, dict) or raw.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(f"{path} is not a jersey-edge checkpoint "
                              "(was it saved by `jersey-edge train`?)")
    if raw.get("version") != CHECKPOINT_VERSION:
        raise CheckpointError(f"{path} has checkpoint version {raw.get('version')!r}, this "
                              f"jersey-edge reads {CHECKPOINT_VERSION}; {_RETRAIN}")
    bad = [k for k, kind in _FIELD_TYPES.items() if not isinstance(raw.get(k), kind)]
    if bad:
        raise CheckpointError(f"{path} is incomplete (bad or missing {', '.join(bad)}); "
                              "copy it again or retrain")
    return raw


def _state_problems(expected: Mapping[str, Tensor], state: Mapping[str, Any]) -> str:
    """'' if `state` fits the model exactly, else a short summary with an example of each."""
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    wrong = [f"{k} {tuple(getattr(state[k], 'shape', ()))} vs {tuple(v.shape)}"
             for k, v in expected.items()
             if k in state and getattr(state[k], "shape", None) != v.shape]
    parts: List[str] = []
    for label, items in (("missing", missing), ("unexpected", unexpected),
                         ("shape mismatch", wrong)):
        if items:
            parts.append(f"{len(items)} {label}, e.g. {items[0]}")
    return "; ".join(parts)


def _check_plain(obj: Any, where: str) -> None:
    if isinstance(obj, dict):
        for key, value in obj.items():
            _check_plain(key, where)
            _check_plain(value, f"{where}[{key!r}]")
    elif isinstance(obj, (list, tuple)):
        for i, value in enumerate(obj):
            _check_plain(value, f"{where}[{i}]")
    elif not isinstance(obj, _PLAIN):
        raise TypeError(f"checkpoint {where} is a {type(obj).__name__}: only dicts, lists, "
                        "tuples, primitives and tensors load with weights_only=True")


WEIGHTS_DIR = Path(__file__).resolve().parent.parent / "weights"
SYNTH_WEIGHTS = "jersey-lite0-synth.pt"
SHIPPED: Dict[str, str] = {
    SYNTH_WEIGHTS: "91cd08593e7d58bf5355daa640b49eefb5362360aac7660b5184e62922f584ee",
}
# What of a training checkpoint's `extra` a shipped file keeps: the recipe and where in it
# the weights were taken, never a path of the machine that trained it.
_KEPT_EXTRA = ("epoch", "val_number_acc", "train_config", "init")


def resolve_checkpoint(path: PathLike) -> Tuple[Path, Optional[str]]:
    """(file to read, expected sha256 or None): a local file wins over a shipped name."""
    path = Path(path).expanduser()
    if path.exists() or str(path) not in SHIPPED:
        return path, None
    return WEIGHTS_DIR / str(path), SHIPPED[str(path)]


def check_sha256(name: Path, digest: str, expected: str) -> None:
    """CheckpointError (one line) where a shipped file's sha256 `digest` is not `expected`."""
    if digest != expected:
        raise CheckpointError(f"{name.name}: sha256 {digest[:12]}... does not match the "
                              f"shipped {expected[:12]}...; the packaged file is damaged or "
                              "was replaced: reinstall jersey-edge")


def pack_weights(checkpoint: PathLike, out: PathLike) -> str:
    """A training checkpoint -> a shippable one: FP16 floating-point tensors, machine paths
    dropped. Returns its sha256 (to record in SHIPPED)."""
    raw = torch.load(Path(checkpoint), map_location="cpu", weights_only=True)
    raw["model_state"] = {k: (v.half() if v.is_floating_point() else v)
                          for k, v in raw["model_state"].items()}
    raw["extra"] = {k: v for k, v in raw["extra"].items() if k in _KEPT_EXTRA}
    out = Path(out)
    with atomic_path(out) as tmp:
        torch.save(raw, tmp)
    return hashlib.sha256(out.read_bytes()).hexdigest()
