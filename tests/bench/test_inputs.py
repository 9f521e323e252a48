"""Benchmark inputs are real frames, preprocessed exactly as the runtime does."""

import numpy as np

from jersey_edge.bench.inputs import SequenceSet, normalizer, spread
from jersey_edge.core.preprocess import (
    PreprocessConfig,
    load_rgb,
    network_size,
    preprocess_frame,
    resize_pad,
)

CFG = PreprocessConfig(height=32, width=16)


def test_normalizer_is_bit_identical_to_the_runtime(jpeg, tmp_path):
    frames = [jpeg(tmp_path / f"{i}.jpg", size=(20 + 7 * i, 50)) for i in range(3)]
    canvases = np.stack([np.asarray(resize_pad(load_rgb(f, fit=network_size(CFG)), CFG))
                         for f in frames])
    expected = np.stack([preprocess_frame(f, CFG) for f in frames])
    assert np.array_equal(normalizer(CFG)(canvases), expected)


def numbered_set(lengths, max_frames=4):
    """Frame value = 10 * sequence + frame index, so a batch's make-up can be read off."""
    pixels = np.zeros((len(lengths), max_frames, 3, 2, 2), np.float32)
    mask = np.zeros((len(lengths), max_frames), np.float32)
    for s, n in enumerate(lengths):
        pixels[s, :n] = (10 * s + np.arange(n))[:, None, None, None]
        mask[s, :n] = 1
    return SequenceSet(source="test", pixels=pixels, to_input=np.ascontiguousarray, mask=mask,
                       tens=np.array([10] * len(lengths)), ones=np.arange(len(lengths)))


def test_batch_tiles_sequences_and_repeats_short_ones():
    frames, mask = numbered_set([4, 2]).batch(3, 3)
    assert frames.shape == (9, 3, 2, 2)
    assert list(frames[:, 0, 0, 0]) == [0, 1, 2, 10, 11, 10, 0, 1, 2]
    assert mask.tolist() == [[1, 1, 1, 0]] * 3


def test_parity_limit_spreads_over_the_sorted_set():
    assert spread(10, 3) == [0, 4, 9]  # linspace 0, 4.5, 9 rounded half to even
    assert spread(3, None) == [0, 1, 2] and spread(3, 5) == [0, 1, 2]
