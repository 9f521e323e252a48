"""Temporal head: exact padding invariance in PyTorch and in ONNX Runtime."""

import dataclasses
from pathlib import Path
from typing import Tuple

import numpy as np
import onnxruntime as ort
import pytest
import torch

from jersey_edge.core.digits import NUM_ONES, NUM_TENS
from jersey_edge.export.onnx_graphs import export_head
from jersey_edge.model.config import ModelConfig
from jersey_edge.model.head import DigitReader, TemporalHead, reverse_index
from jersey_edge.runtime.artifacts import ATTENTION, EMBEDDINGS, MASK, ONES, TENS

CFG = ModelConfig(pretrained=False)
T = 16
LENGTHS = (16, 5, 1, 9)


@pytest.fixture(scope="module")
def head() -> TemporalHead:
    torch.manual_seed(0)
    return TemporalHead(CFG).eval()


def _batch(lengths: Tuple[int, ...] = LENGTHS, t: int = T) -> Tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(1)
    emb = torch.randn(len(lengths), t, CFG.embed_dim, generator=gen)
    mask = torch.zeros(len(lengths), t)
    for i, n in enumerate(lengths):
        mask[i, :n] = 1.0
    return emb, mask


def _run(head: TemporalHead, emb: torch.Tensor, mask: torch.Tensor) -> Tuple[torch.Tensor, ...]:
    with torch.no_grad():
        return head(emb, mask)


def test_reverse_index_reverses_within_length() -> None:
    valid = torch.tensor([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]]) > 0
    assert reverse_index(valid).tolist() == [[2, 1, 0, 3, 4], [4, 3, 2, 1, 0]]


@pytest.mark.parametrize("garbage", ["random", "nan", "huge"])
def test_padding_content_changes_nothing(head: TemporalHead, garbage: str) -> None:
    emb, mask = _batch()
    clean = _run(head, emb, mask)
    dirty = emb.clone()
    pad = mask == 0
    fill = {"random": torch.randn_like(emb) * 100, "nan": torch.full_like(emb, float("nan")),
            "huge": torch.full_like(emb, 3e38)}[garbage]
    dirty[pad] = fill[pad]
    for a, b in zip(clean, _run(head, dirty, mask)):
        assert torch.equal(a, b)


def test_padded_equals_alone(head: TemporalHead) -> None:
    emb, mask = _batch()
    padded = _run(head, emb, mask)
    for i, n in enumerate(LENGTHS):
        alone = _run(head, emb[i:i + 1, :n], mask[i:i + 1, :n])
        torch.testing.assert_close(padded[0][i:i + 1], alone[0], atol=1e-6, rtol=0)
        torch.testing.assert_close(padded[1][i:i + 1], alone[1], atol=1e-6, rtol=0)
        torch.testing.assert_close(padded[2][i:i + 1, :n], alone[2], atol=1e-6, rtol=0)


def test_attention_is_a_distribution_over_valid_frames(head: TemporalHead) -> None:
    emb, mask = _batch()
    tens, ones, attn = _run(head, emb, mask)
    assert tens.shape == (len(LENGTHS), CFG.num_tens) and ones.shape == (len(LENGTHS), 10)
    torch.testing.assert_close(attn.sum(-1), torch.ones(len(LENGTHS)))
    assert torch.all(attn[mask == 0] == 0)
    assert torch.all(attn[mask > 0] > 0)


def test_fully_masked_row_is_finite(head: TemporalHead) -> None:
    emb, mask = _batch((0, 3))
    emb[0] = float("nan")
    tens, ones, attn = _run(head, emb, mask)
    assert all(torch.isfinite(x).all() for x in (tens, ones, attn))
    assert torch.all(attn[0] == 0)


def test_any_sequence_length_runs(head: TemporalHead) -> None:
    for t in (1, 3, 40):
        _, _, attn = _run(head, *_batch((t,), t=t))
        assert attn.shape == (1, t)


def test_onnx_export_matches_and_stays_padding_invariant(head: TemporalHead,
                                                         tmp_path: Path) -> None:
    ort = pytest.importorskip("onnxruntime")
    onnx = pytest.importorskip("onnx")
    path = tmp_path / "head.onnx"
    outputs = [TENS, ONES, ATTENTION]
    torch.onnx.export(head, _batch((16, 3)), str(path), dynamo=False, opset_version=17,
                      input_names=[EMBEDDINGS, MASK], output_names=outputs,
                      dynamic_axes={n: {0: "batch"} for n in [EMBEDDINGS, MASK, *outputs]})
    ops = {node.op_type for node in onnx.load(str(path)).graph.node}
    assert "Range" not in ops  # the time index was folded: T is static in the graph
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    emb, mask = _batch()  # another batch size than at export
    expected = _run(head, emb, mask)
    dirty = emb.numpy().copy()
    dirty[mask.numpy() == 0] = np.nan
    clean_out = session.run(outputs, {EMBEDDINGS: emb.numpy(), MASK: mask.numpy()})
    dirty_out = session.run(outputs, {EMBEDDINGS: dirty, MASK: mask.numpy()})
    for got, dirty_got, want in zip(clean_out, dirty_out, expected):
        np.testing.assert_allclose(got, want.numpy(), atol=1e-6, rtol=0)
        np.testing.assert_array_equal(got, dirty_got)


SHARED_CFG = ModelConfig(pretrained=False, embed_dim=32, hidden=16, attn_dim=8, shared_digits=True)


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
    assert ModelConfig.from_dict(SHARED_CFG.to_dict()).shared_digits is True
    head = TemporalHead(dataclasses.replace(SHARED_CFG, shared_digits=False))
    assert {"tens.weight", "ones.weight"} <= set(head.state_dict())
    assert "digits.classify.0.weight" in TemporalHead(SHARED_CFG).state_dict()


@pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::torch.jit.TracerWarning")
def test_the_shared_head_exports_with_parity(tmp_path):
    """The two-head graph's names and shapes (tens [B,11], ones [B,10]); the same numbers."""
    torch.manual_seed(0)
    head = TemporalHead(SHARED_CFG).eval()
    frames = 6
    export_head(head, tmp_path / "head.onnx", max_frames=frames, embed_dim=SHARED_CFG.embed_dim)
    session = ort.InferenceSession(str(tmp_path / "head.onnx"),
                                   providers=["CPUExecutionProvider"])
    embeddings = torch.randn(3, frames, SHARED_CFG.embed_dim)
    mask = torch.tensor([[1.0] * 6, [1.0] * 3 + [0.0] * 3, [1.0] + [0.0] * 5])
    with torch.no_grad():
        expected = head(embeddings, mask)
    got = session.run(None, {"embeddings": embeddings.numpy(), "mask": mask.numpy()})
    assert [o.name for o in session.get_outputs()] == ["tens_logits", "ones_logits", "attention"]
    assert [g.shape for g in got] == [(3, NUM_TENS), (3, NUM_ONES), (3, frames)]
    for want, have in zip(expected, got):
        np.testing.assert_allclose(have, want.numpy(), rtol=1e-4, atol=1e-5)
