
from jersey_edge.core.preprocess import linspace_indices


def test_short_sequences_keep_every_frame():
    assert linspace_indices(5, 16) == [0, 1, 2, 3, 4]


def test_long_sequences_are_spread_end_to_end():
    idx = linspace_indices(500, 16)
    assert len(idx) == 16 and idx[0] == 0 and idx[-1] == 499
    assert idx == sorted(set(idx))
