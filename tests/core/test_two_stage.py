import numpy as np
import pytest

from jersey_edge.core.two_stage import concat_logits, pad_sequences, run_two_stage


class SumModel:
    """Encoder: each frame -> [its mean, 1]; head: sums over real slots, records its inputs."""

    def encode(self, frames):
        flat = frames.reshape(len(frames), -1).mean(1)
        return np.stack([flat, np.ones_like(flat)], 1).astype(np.float32)

    def classify(self, embeddings, mask):
        self.seen = (embeddings, mask)
        total = (embeddings * mask[..., None]).sum(1)
        return total[:, :1].repeat(11, 1), total[:, 1:].repeat(10, 1), mask


def test_pad_sequences_right_pads_each_sequence_with_zeros():
    embeddings = np.arange(10, dtype=np.float32).reshape(5, 2)
    padded, mask = pad_sequences(embeddings, [3, 2], max_frames=4)
    assert padded.shape == (2, 4, 2) and mask.dtype == np.float32
    assert mask.tolist() == [[1, 1, 1, 0], [1, 1, 0, 0]]
    assert padded[0, :3].tolist() == embeddings[:3].tolist() and padded[0, 3].tolist() == [0, 0]
    assert padded[1, :2].tolist() == embeddings[3:].tolist() and not padded[1, 2:].any()


@pytest.mark.parametrize("lengths", [[3, 3], [5, 0], [2]])
def test_pad_sequences_refuses_lengths_that_do_not_split(lengths):
    with pytest.raises(ValueError, match="do not split"):
        pad_sequences(np.zeros((5, 2), np.float32), lengths, max_frames=4)


def test_run_two_stage_encodes_only_real_frames():
    frames = np.stack([np.full((3, 2, 2), v, np.float32) for v in (1, 2, 3, 10, 20)])
    model = SumModel()
    tens, ones, attention = run_two_stage(model, frames, [3, 2], max_frames=4)
    assert tens[:, 0].tolist() == [6.0, 30.0]  # the sum of each sequence's own frames
    assert ones[:, 0].tolist() == [3.0, 2.0]  # its frame count
    assert attention.tolist() == [[1, 1, 1, 0], [1, 1, 0, 0]]


def test_concat_logits_joins_chunks_and_is_empty_without_any():
    parts = [(np.ones((2, 11)), np.ones((2, 10))), (np.zeros((1, 11)), np.zeros((1, 10)))]
    tens, ones = concat_logits(parts)
    assert tens.shape == (3, 11) and ones.shape == (3, 10)
    assert [a.shape for a in concat_logits([])] == [(0, 11), (0, 10)]
