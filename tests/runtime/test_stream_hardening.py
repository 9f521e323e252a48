"""TrackStream: cached embeddings own their memory, and updates are applied one at a time in
the order they were called."""

import gc
import itertools
import threading
import weakref
from concurrent.futures import ThreadPoolExecutor

import numpy as np


def test_cached_embeddings_do_not_keep_the_batch_alive(rec, frames, monkeypatch):
    batches = []
    encode = rec.encode

    def owning_encode(pixels):
        batch = np.array(encode(pixels))  # owns its memory: a row view would keep it alive
        batches.append(weakref.ref(batch))
        return batch

    monkeypatch.setattr(rec, "encode", owning_encode)
    stream = rec.stream()
    stream.update_many({"a": frames[0], "b": frames[1], "c": frames[2]})
    stream.drop("a")
    stream.drop("b")
    gc.collect()
    assert stream.tracks == ["c"]
    assert [ref() for ref in batches] == [None]


def test_an_update_called_during_another_is_applied_after_it(rec, frames, monkeypatch):
    """The first update is held inside the encoder; a second update of the same track,
    called meanwhile, must wait for it instead of overtaking it."""
    first_inside, release, second_encoded = (threading.Event() for _ in range(3))
    calls = itertools.count()
    encode = rec.encode

    def held_encode(pixels):
        if next(calls) == 0:
            first_inside.set()
            release.wait(10)
        else:
            second_encoded.set()
        return encode(pixels)

    monkeypatch.setattr(rec, "encode", held_encode)
    stream = rec.stream()
    results = {}

    def update(name, frame):
        results[name] = stream.update("player-7", frame)

    first = threading.Thread(target=update, args=("first", frames[0]))
    second = threading.Thread(target=update, args=("second", frames[1]))
    first.start()
    assert first_inside.wait(10)
    second.start()
    overtook = second_encoded.wait(1.0)
    release.set()
    first.join(10)
    second.join(10)
    assert not overtook
    assert len(results["first"].attention) == 1 and len(results["second"].attention) == 2
    monkeypatch.undo()
    expected = rec.predict(frames[:3])
    got = stream.update("player-7", frames[2])
    np.testing.assert_allclose(got.tens_probs, expected.tens_probs, atol=1e-5)
    np.testing.assert_allclose(got.attention, expected.attention, atol=1e-5)


def test_tracks_fed_from_several_threads_each_see_their_own_frames_in_order(rec, frames):
    stream = rec.stream()
    feeds = {f"track-{i}": frames[i:i + 4] for i in range(4)}

    def feed(track):
        return [stream.update(track, frame) for frame in feeds[track]]

    with ThreadPoolExecutor(max_workers=4) as pool:
        streamed = dict(zip(feeds, pool.map(feed, feeds)))
    for track, results in streamed.items():
        for step, got in enumerate(results):
            expected = rec.predict(feeds[track][:step + 1])
            np.testing.assert_allclose(got.ones_probs, expected.ones_probs, atol=1e-5)
            np.testing.assert_allclose(got.attention, expected.attention, atol=1e-5)


def test_a_track_silent_for_longer_than_max_age_starts_afresh(rec, frames):
    aged = rec.stream(max_age=2)
    kept = rec.stream()
    for stream in (aged, kept):
        stream.update(7, frames[0])
        stream.update(7, frames[1])
        for _ in range(3):  # three updates without track 7
            stream.update("other", frames[2])
    back_aged, back_kept = aged.update(7, frames[3]), kept.update(7, frames[3])
    assert int(back_aged.attention.astype(bool).sum()) == 1  # only the new frame
    assert int(back_kept.attention.astype(bool).sum()) == 3
    fresh = rec.predict([frames[3]])
    np.testing.assert_allclose(back_aged.tens_probs, fresh.tens_probs, rtol=1e-5, atol=1e-6)


def test_more_boxes_than_max_tracks_in_one_frame_warns_once(rec, frames):
    import pytest

    stream = rec.stream(max_tracks=2)
    with pytest.warns(RuntimeWarning, match="max_tracks=2") as caught:
        for _ in range(3):
            stream.update_many({t: frames[t] for t in range(3)})
    assert len([w for w in caught if "max_tracks" in str(w.message)]) == 1
    assert len(stream.tracks) == 2
