"""The digit classifier shared by the tens and ones positions (model/digits.py)."""

import dataclasses

import numpy as np
import onnxruntime as ort
import pytest
import torch

from jersey_edge.core.labels import NUM_ONES, NUM_TENS
from jersey_edge.export.onnx_graphs import export_head
from jersey_edge.model.config import ModelConfig
from jersey_edge.model.digits import DigitReader
from jersey_edge.model.head import TemporalHead

CFG = ModelConfig(pretrained=False, embed_dim=32, hidden=16, attn_dim=8, shared_digits=True)


def test_both_positions_read_through_one_classifier():
    torch.manual_seed(0)
    reader = DigitReader(8, NUM_TENS, NUM_ONES)
    features = torch.randn(5, 8)
    tens, ones = reader(features)
    assert tens.shape == (5, NUM_TENS) and ones.shape == (5, NUM_ONES)
    with torch.no_grad():  # ones is the classifier at the ones position, blank logit dropped
        at_ones = reader.classify(features * reader.position_scale[1] + reader.position_shift[1])
    assert torch.allclose(ones, at_ones[:, :NUM_ONES])
    assert sum(p.numel() for p in reader.parameters()) == (2 * 8 * 2 + 8 * 8 + 8
                                                           + 8 * NUM_TENS + NUM_TENS)
    assert not torch.allclose(tens[:, :NUM_ONES], ones)  # the positions differ from the start


def test_the_default_and_older_checkpoints_keep_a_linear_layer_per_position():
    assert ModelConfig().shared_digits is False
    assert ModelConfig.from_dict({"embed_dim": 32}).shared_digits is False
    assert ModelConfig.from_dict(CFG.to_dict()).shared_digits is True
    head = TemporalHead(dataclasses.replace(CFG, shared_digits=False))
    assert {"tens.weight", "ones.weight"} <= set(head.state_dict())
    assert "digits.classify.0.weight" in TemporalHead(CFG).state_dict()


@pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::torch.jit.TracerWarning")
def test_the_shared_head_exports_with_parity(tmp_path):
    """The two-head graph's names and shapes (tens [B,11], ones [B,10]); the same numbers."""
    torch.manual_seed(0)
    head = TemporalHead(CFG).eval()
    frames = 6
    export_head(head, tmp_path / "head.onnx", max_frames=frames, embed_dim=CFG.embed_dim)
    session = ort.InferenceSession(str(tmp_path / "head.onnx"),
                                   providers=["CPUExecutionProvider"])
    embeddings = torch.randn(3, frames, CFG.embed_dim)
    mask = torch.tensor([[1.0] * 6, [1.0] * 3 + [0.0] * 3, [1.0] + [0.0] * 5])
    with torch.no_grad():
        expected = head(embeddings, mask)
    got = session.run(None, {"embeddings": embeddings.numpy(), "mask": mask.numpy()})
    assert [o.name for o in session.get_outputs()] == ["tens_logits", "ones_logits", "attention"]
    assert [g.shape for g in got] == [(3, NUM_TENS), (3, NUM_ONES), (3, frames)]
    for want, have in zip(expected, got):
        np.testing.assert_allclose(have, want.numpy(), rtol=1e-4, atol=1e-5)
