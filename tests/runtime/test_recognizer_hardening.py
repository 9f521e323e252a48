"""Recognizer API edges: non-finite model outputs, malformed inputs, evenly sampled long
preprocessed sequences, stream windows, and use after close."""

import shutil
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import numpy_helper

from jersey_edge.core.preprocess import linspace_indices
from jersey_edge.runtime import ArtifactError, InputError, Recognizer
from jersey_edge.runtime.artifacts import graphs_for
from jersey_edge.runtime.manifest import add_files


def poisoned_copy(artifacts: Path, dest: Path, part: str, value: float, *,
                  only: str = "") -> Path:
    """A re-signed copy of `artifacts` whose fp32 `part` graph has its weight matrices (or the
    initializer named `only`) filled with `value`: a model that outputs NaN or infinity."""
    shutil.copytree(artifacts, dest)
    name = graphs_for("fp32", "cpu").graph(part)
    path = dest / name
    model = onnx.load(str(path))
    for init in model.graph.initializer:
        weights = numpy_helper.to_array(init)
        if (init.name == only) if only else (weights.ndim >= 2 and weights.dtype == np.float32):
            init.CopyFrom(numpy_helper.from_array(np.full_like(weights, value), init.name))
    onnx.save(model, str(path))
    add_files(dest, [name])
    return dest


POISONS = {
    "nan-head-weights": ("head", float("nan"), ""),
    "inf-tens-bias": ("head", float("inf"), "tens.bias"),
    "minus-inf-ones-bias": ("head", float("-inf"), "ones.bias"),
    "nan-encoder-weights": ("encoder", float("nan"), ""),
}


@pytest.fixture(scope="module", params=sorted(POISONS))
def broken(request, exported, tmp_path_factory):
    part, value, only = POISONS[request.param]
    folder = poisoned_copy(exported.out, tmp_path_factory.mktemp("poisoned") / "artifacts",
                           part, value, only=only)
    with Recognizer.load(folder, backend="onnxruntime", threads=1) as recognizer:
        yield recognizer


def test_non_finite_scores_are_refused_by_predict(broken, frames):
    with pytest.raises(ArtifactError, match="non-finite"):
        broken.predict(frames[:3])
    with pytest.raises(ArtifactError, match="non-finite"):
        broken.predict_batch([frames[:2], frames[2:4]])


def test_non_finite_scores_are_refused_by_stream(broken, frames):
    stream = broken.stream()
    with pytest.raises(ArtifactError, match="non-finite"):
        stream.update("player-7", frames[0])
    with pytest.raises(ArtifactError, match="non-finite"):
        stream.update_many({"a": frames[1], "b": frames[2]})
    assert stream.tracks == []  # a refused update stores nothing


def test_empty_preprocessed_sequence_is_an_input_error(rec, frames):
    cfg = rec.manifest.preprocess
    empty = np.zeros((0, 3, cfg.height, cfg.width), np.float32)
    with pytest.raises(InputError, match="at least one frame"):
        rec.predict_preprocessed([empty])
    with pytest.raises(InputError, match="at least one frame"):
        rec.predict_preprocessed([rec.preprocess(frames[:2]), empty])


@pytest.mark.parametrize("shape", [(3, 64, 32), (2, 3, 32, 64), (2, 64, 32, 3)])
def test_misshaped_preprocessed_sequence_is_an_input_error(rec, shape):
    with pytest.raises(InputError, match=r"\[T,3,64,32\]"):
        rec.predict_preprocessed([np.zeros(shape, np.float32)])


def test_preprocessed_arrays_must_come_in_a_list(rec, frames):
    with pytest.raises(InputError, match="list"):
        rec.predict_preprocessed(rec.preprocess(frames[:2]))


def test_long_preprocessed_sequences_are_sampled_evenly(rec, frames):
    pixels = np.concatenate([rec.preprocess(frames[:4]), rec.preprocess(frames[4:8])])
    assert len(pixels) > rec.max_frames
    got = rec.predict_preprocessed([pixels])[0]
    spread = rec.predict_preprocessed([pixels[linspace_indices(len(pixels), rec.max_frames)]])[0]
    truncated = rec.predict_preprocessed([pixels[:rec.max_frames]])[0]
    np.testing.assert_array_equal(got.tens_probs, spread.tens_probs)
    np.testing.assert_array_equal(got.attention, spread.attention)
    assert got.attention.shape == (rec.max_frames,)
    assert not np.array_equal(got.attention, truncated.attention)
    np.testing.assert_allclose(got.ones_probs, rec.predict(frames).ones_probs, atol=1e-6)


@pytest.mark.parametrize("kind", ["dict", "set", "generator", "ndarray"])
def test_unordered_or_lazy_frame_collections_are_refused(rec, frames, kind):
    bad = {"dict": lambda: {"a": frames[0], "b": frames[1]},
           "set": lambda: set(frames[:2]),
           "generator": lambda: (f for f in frames[:2]),
           "ndarray": lambda: np.zeros((2, 64, 32, 3), np.uint8)}[kind]()
    with pytest.raises(InputError, match="list or tuple of frames"):
        rec.predict(bad)


def test_integer_keyed_dict_is_not_taken_for_a_sequence(rec, frames):
    with pytest.raises(InputError, match="list or tuple of frames"):
        rec.predict(dict(enumerate(frames[:2])))


@pytest.mark.parametrize("as_path", [str, Path])
def test_a_path_is_refused_with_a_pointer_to_folders(rec, frames, as_path):
    folder = frames[0].parent
    with pytest.raises(InputError, match="sequence_frames"):
        rec.predict(as_path(folder))


def test_tuples_and_other_sequences_of_frames_work(rec, frames):
    expected = rec.predict(frames[:3]).tens_probs
    np.testing.assert_array_equal(rec.predict(tuple(frames[:3])).tens_probs, expected)


@pytest.mark.parametrize("kind", ["dict", "set", "ndarray"])
def test_batches_must_be_ordered_sequences_of_sequences(rec, frames, kind):
    bad = {"dict": lambda: {"a": frames[:2]},
           "set": lambda: {tuple(frames[:2]), tuple(frames[2:4])},
           "ndarray": lambda: np.zeros((1, 2, 64, 32, 3), np.uint8)}[kind]()
    with pytest.raises(InputError, match="list or tuple"):
        rec.predict_batch(bad)


@pytest.mark.parametrize("window", [0, -1, 5, 2.5])
def test_stream_windows_outside_1_to_max_frames_are_refused(rec, window):
    with pytest.raises(InputError, match="window"):
        rec.stream(window=window)


def test_an_update_with_one_bad_frame_stores_nothing(rec, frames):
    stream = rec.stream()
    with pytest.raises(InputError):
        stream.update_many({"a": frames[0], "b": object()})
    assert stream.tracks == []


def test_stream_window_defaults_to_max_frames(rec):
    assert rec.stream().window == rec.max_frames
    assert rec.stream(window=1).window == 1


@pytest.fixture
def closed(exported):
    recognizer = Recognizer.load(exported.out, backend="onnxruntime", threads=1)
    stream = recognizer.stream()
    recognizer.close()
    recognizer.close()  # closing twice is fine
    return recognizer, stream


def test_every_public_method_refuses_a_closed_recognizer(closed, rec, frames):
    recognizer, stream = closed
    pixels = rec.preprocess(frames[:2])
    embeddings = np.zeros((1, rec.max_frames, rec.manifest.embed_dim), np.float32)
    mask = np.ones((1, rec.max_frames), np.float32)
    calls = {
        "predict": lambda: recognizer.predict(frames[:2]),
        "predict_batch": lambda: recognizer.predict_batch([frames[:2]]),
        "predict_batch([])": lambda: recognizer.predict_batch([]),
        "predict_preprocessed": lambda: recognizer.predict_preprocessed([pixels]),
        "preprocess": lambda: recognizer.preprocess(frames[:2]),
        "encode": lambda: recognizer.encode(pixels),
        "classify": lambda: recognizer.classify(embeddings, mask),
        "stream": lambda: recognizer.stream(),
        "stream.update": lambda: stream.update("a", frames[0]),
    }
    for name, call in calls.items():
        with pytest.raises(InputError, match="closed"):
            call()
            pytest.fail(f"{name} ran on a closed recognizer")


def test_context_manager_closes_once_and_for_all(exported, frames):
    with Recognizer.load(exported.out, backend="onnxruntime", threads=1) as recognizer:
        assert 0 <= recognizer.predict(frames[:2]).best_guess <= 99
    recognizer.close()
    with pytest.raises(InputError, match="closed"):
        recognizer.predict(frames[:2])


def _predict_until_closed(recognizer, frames, started, errors) -> None:
    try:
        while True:
            started.set()
            recognizer.predict(frames[:3])
    except Exception as exc:  # the one outcome the test looks at
        errors.append(exc)


def test_close_from_another_thread_never_blames_the_graph(exported, frames):
    """Real threads: predictions race a close. Each call either finishes or gets the
    closed-state InputError, never an error from a session pulled from under it."""
    import threading

    for _ in range(5):
        recognizer = Recognizer.load(exported.out, backend="onnxruntime", threads=1)
        errors, started = [], threading.Event()
        workers = [threading.Thread(target=_predict_until_closed,
                                    args=(recognizer, frames, started, errors))
                   for _ in range(3)]
        for worker in workers:
            worker.start()
        started.wait(10)
        recognizer.close()
        for worker in workers:
            worker.join(30)
        assert len(errors) == 3
        assert all(isinstance(e, InputError) and "closed" in str(e) for e in errors), errors


def test_predict_batch_encodes_in_bounded_chunks(exported, frames, monkeypatch):
    from jersey_edge.runtime import recognizer as recognizer_module

    monkeypatch.setattr(recognizer_module, "BATCH_FRAMES", 5)
    with Recognizer.load(exported.out, backend="onnxruntime", threads=1) as rec:
        sizes = []
        encode = rec.encode
        rec.encode = lambda pixels: sizes.append(len(pixels)) or encode(pixels)
        batch = [frames[:2], frames[:3], frames[:1], frames[:4], frames[:2]]
        chunked = rec.predict_batch(batch)
        rec.encode = encode
        one_by_one = [rec.predict(s) for s in batch]
    assert max(sizes) <= 5 and sum(sizes) == 12
    assert [p.best_guess for p in chunked] == [p.best_guess for p in one_by_one]
    for a, b in zip(chunked, one_by_one):
        np.testing.assert_allclose(a.tens_probs, b.tens_probs, rtol=1e-5, atol=1e-6)
