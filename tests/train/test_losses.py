
import dataclasses

import torch
from torch.nn import functional as F

from jersey_edge.train.losses import FrameDigitHead

from .conftest import TINY_MODEL

MASK = torch.tensor([[1.0, 1.0, 0.0, 0.0], [1.0, 1.0, 1.0, 0.0]])
TENS, ONES = torch.tensor([10, 3]), torch.tensor([4, 7])


def test_frame_loss_reads_only_real_frames():
    torch.manual_seed(0)
    head = FrameDigitHead(TINY_MODEL)
    embeddings = torch.randn(2, 4, TINY_MODEL.embed_dim)
    loss = head.loss(embeddings, MASK, TENS, ONES, 0.0)
    garbage = embeddings.clone()
    garbage[MASK == 0] = float("nan")
    assert torch.equal(loss, head.loss(garbage, MASK, TENS, ONES, 0.0))
    tens_logits, ones_logits = head(embeddings[MASK > 0])
    expected = (F.cross_entropy(tens_logits, torch.tensor([10, 10, 3, 3, 3]))
                + F.cross_entropy(ones_logits, torch.tensor([4, 4, 7, 7, 7])))
    assert torch.allclose(loss, expected)


def test_a_frame_weighted_zero_teaches_nothing():
    torch.manual_seed(0)
    head = FrameDigitHead(TINY_MODEL)
    embeddings = torch.randn(2, 4, TINY_MODEL.embed_dim)
    weights = MASK.clone()
    weights[1, 2] = 0.0
    shorter = MASK.clone()
    shorter[1, 2] = 0.0
    assert torch.allclose(head.loss(embeddings, weights, TENS, ONES, 0.0),
                          head.loss(embeddings, shorter, TENS, ONES, 0.0))
    half = MASK * 0.5
    assert torch.allclose(head.loss(embeddings, half, TENS, ONES, 0.0),
                          head.loss(embeddings, MASK, TENS, ONES, 0.0))  # a weighted mean


def test_the_frame_head_follows_the_models_digit_layout():
    for shared, modules in ((False, {"tens", "ones"}), (True, {"digits"})):
        head = FrameDigitHead(dataclasses.replace(TINY_MODEL, shared_digits=shared))
        tens, ones = head(torch.randn(3, TINY_MODEL.embed_dim))
        assert tens.shape == (3, 11) and ones.shape == (3, 10)
        assert {name.split(".")[0] for name in head.state_dict()} == modules
