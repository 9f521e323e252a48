import numpy as np

from jersey_edge.core.sampling import linspace_indices, pad_sequence


def test_short_sequences_keep_every_frame():
    assert linspace_indices(5, 16) == [0, 1, 2, 3, 4]


def test_long_sequences_are_spread_end_to_end():
    idx = linspace_indices(500, 16)
    assert len(idx) == 16 and idx[0] == 0 and idx[-1] == 499
    assert idx == sorted(set(idx))


def test_pad_sequence_right_pads_with_float_mask():
    frames = np.ones((3, 2), dtype=np.float32)
    padded, mask = pad_sequence(frames, 5)
    assert padded.shape == (5, 2) and mask.dtype == np.float32
    assert mask.tolist() == [1, 1, 1, 0, 0]
    assert padded[3:].sum() == 0
