"""Recognizer.load(warmup=True): one dummy frame through encoder and head, and nothing kept."""

from typing import List, Tuple

import pytest

from jersey_edge.runtime import ArtifactError, Recognizer


@pytest.fixture
def graph_calls(monkeypatch):
    """(graph, input shape) of every encoder and head call made through any Recognizer."""
    calls: List[Tuple[str, tuple]] = []
    encode, classify = Recognizer.encode, Recognizer.classify

    def counting_encode(self, frames):
        calls.append(("encoder", frames.shape))
        return encode(self, frames)

    def counting_classify(self, embeddings, mask):
        calls.append(("head", embeddings.shape))
        return classify(self, embeddings, mask)

    monkeypatch.setattr(Recognizer, "encode", counting_encode)
    monkeypatch.setattr(Recognizer, "classify", counting_classify)
    return calls


def test_warmup_runs_one_frame_through_both_graphs(exported, graph_calls):
    with Recognizer.load(exported.out, backend="onnxruntime", threads=1, warmup=True) as rec:
        cfg = rec.manifest.preprocess
        embed_dim = rec.manifest.embed_dim
        assert graph_calls == [("encoder", (1, 3, cfg.height, cfg.width)),
                               ("head", (1, rec.max_frames, embed_dim))]


def test_no_warmup_unless_asked(exported, graph_calls):
    with Recognizer.load(exported.out, backend="onnxruntime", threads=1):
        assert graph_calls == []


def test_predictions_after_warmup_are_unchanged(exported, rec, frames):
    expected = [rec.predict(frames[:3]).to_dict(), rec.predict(frames[3:]).to_dict()]
    with Recognizer.load(exported.out, backend="onnxruntime", threads=1, warmup=True) as warm:
        assert [warm.predict(frames[:3]).to_dict(), warm.predict(frames[3:]).to_dict()] == \
            expected


def test_warming_up_leaves_streams_as_they_were(rec, frames):
    cold, warmed = rec.stream(), rec.stream()
    cold.update("a", frames[0])
    warmed.update("a", frames[0])
    rec.warm_up()
    assert warmed.tracks == ["a"]
    got = warmed.update("a", frames[1])
    assert got.to_dict() == cold.update("a", frames[1]).to_dict()
    assert len(got.attention) == 2


def test_a_failed_warmup_closes_what_load_opened(exported, monkeypatch):
    closed = []
    close = Recognizer.close

    def broken(self):
        raise ArtifactError("the model produced non-finite embeddings")

    def recording_close(self):
        closed.append(self)
        close(self)

    monkeypatch.setattr(Recognizer, "warm_up", broken)
    monkeypatch.setattr(Recognizer, "close", recording_close)
    with pytest.raises(ArtifactError, match="non-finite"):
        Recognizer.load(exported.out, backend="onnxruntime", threads=1, warmup=True)
    assert len(closed) == 1 and closed[0].encoder.closed and closed[0].head.closed

