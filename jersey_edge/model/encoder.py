"""Frame encoder: EfficientNet-Lite0 features, early blocks frozen, projected to embed_dim."""

from typing import List

from torch import Tensor, nn

from ..core.errors import InputError
from .config import ModelConfig
from .pretrained import create_backbone


class FrameEncoder(nn.Module):
    """[N,3,H,W] normalised frames -> [N,embed_dim] embeddings.

    The stem and `blocks[:freeze_until]` keep their ImageNet weights *and* BatchNorm
    statistics: low-level edge/colour filters transfer as they are, and a few thousand
    jersey crops would only drag the running stats around. freeze_until=0 freezes nothing.
    """

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.backbone = create_backbone(cfg.backbone, pretrained=cfg.pretrained, num_classes=0)
        blocks = len(self.backbone.blocks)
        if not 0 <= cfg.freeze_until <= blocks:
            raise InputError(f"freeze_until must be 0-{blocks}, got {cfg.freeze_until}")
        self.freeze_until = cfg.freeze_until
        self.proj = nn.Sequential(
            nn.Linear(self.backbone.num_features, cfg.embed_dim),
            nn.Hardswish(),
            nn.Dropout(cfg.dropout),
        )
        for module in self.frozen_modules():
            module.requires_grad_(False)
        self.train()  # a fresh module is in train mode: put the frozen part in eval now

    def frozen_modules(self) -> List[nn.Module]:
        return self._feature_path()[: self._frozen_count()]

    def _feature_path(self) -> List[nn.Module]:
        """The backbone's feature modules in order: the trunk is a prefix, the tail the rest."""
        bb = self.backbone
        return [bb.conv_stem, bb.bn1, *bb.blocks]

    def _frozen_count(self) -> int:
        return 0 if self.freeze_until == 0 else 2 + self.freeze_until  # stem + bn1 + blocks

    def train(self, mode: bool = True) -> "FrameEncoder":
        """Like nn.Module.train, but the frozen part stays in eval mode (fixed BN stats)."""
        super().train(mode)
        for module in self.frozen_modules():
            module.eval()
        return self

    def forward(self, frames: Tensor) -> Tensor:
        return self.tail(self.trunk(frames))

    def trunk(self, frames: Tensor) -> Tensor:
        """The frozen part: its output depends on the input alone, so training may cache it."""
        for module in self.frozen_modules():
            frames = module(frames)
        return frames

    def tail(self, trunk_features: Tensor) -> Tensor:
        """The trained part: trunk output -> [N,embed_dim] embeddings."""
        x = trunk_features
        for module in self._feature_path()[self._frozen_count():]:
            x = module(x)
        bb = self.backbone
        return self.proj(bb.forward_head(bb.bn2(bb.conv_head(x))))
