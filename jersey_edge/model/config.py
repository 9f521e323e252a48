"""Model configuration, saved inside every checkpoint and manifest."""

from dataclasses import asdict, dataclass, fields
from typing import Any, Dict


@dataclass(frozen=True)
class ModelConfig:
    backbone: str = "efficientnet_lite0"
    pretrained: bool = True
    freeze_until: int = 4  # blocks[:freeze_until] (and the stem) are frozen
    embed_dim: int = 256
    hidden: int = 192
    attn_dim: int = 128
    dropout: float = 0.1
    num_tens: int = 11
    num_ones: int = 10
    # One digit classifier for both positions (model/digits.py) instead of a linear layer
    # each: measured slower to learn at the demo budget, so off (docs/accuracy.md).
    shared_digits: bool = False

    def to_dict(self) -> Dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Dict[str, Any]) -> "ModelConfig":
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})
