import torch

from jersey_edge.train.frame_loss import FrameDigitHead

from .conftest import TINY_MODEL


def test_frame_loss_reads_only_real_frames():
    torch.manual_seed(0)
    head = FrameDigitHead(TINY_MODEL)
    criterion = torch.nn.CrossEntropyLoss()
    embeddings = torch.randn(2, 4, TINY_MODEL.embed_dim)
    mask = torch.tensor([[1.0, 1.0, 0.0, 0.0], [1.0, 1.0, 1.0, 0.0]])
    tens, ones = torch.tensor([10, 3]), torch.tensor([4, 7])
    loss = head.loss(embeddings, mask, tens, ones, criterion)
    garbage = embeddings.clone()
    garbage[mask == 0] = float("nan")
    assert torch.equal(loss, head.loss(garbage, mask, tens, ones, criterion))
    frames = embeddings[mask > 0]
    t = torch.tensor([10, 10, 3, 3, 3])
    o = torch.tensor([4, 4, 7, 7, 7])
    expected = criterion(head.tens(frames), t) + criterion(head.ones(frames), o)
    assert torch.allclose(loss, expected)
