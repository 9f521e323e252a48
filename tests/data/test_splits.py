import json
import logging
from collections import Counter
from pathlib import Path
from typing import List

import pytest

from jersey_edge.core.errors import DatasetError, InputError
from jersey_edge.data import splits as splits_mod
from jersey_edge.data.discovery import SequenceRecord
from jersey_edge.data.splits import fingerprint, split_records, training_splits


def make_records(tracks_per_label: dict, seqs_per_track: int = 2) -> List[SequenceRecord]:
    """Records without files (splitting only looks at ids); tracks hold 1..seqs_per_track."""
    out = []
    for label, n_tracks in tracks_per_label.items():
        for t in range(n_tracks):
            for s in range(1 + (t + label) % seqs_per_track):  # 1..seqs_per_track
                seq = f"{label}/t{t:03d}/s{s}"
                out.append(SequenceRecord(label=label, track=f"{label}/t{t:03d}", sequence=seq,
                                          frames=(Path(seq) / "f0.jpg",), anchor=None))
    return out


def tracks_of(records: List[SequenceRecord]) -> set:
    return {r.track for r in records}


def test_tracks_never_straddle_and_all_records_kept() -> None:
    records = make_records({label: 20 for label in range(10)}, seqs_per_track=3)
    parts = split_records(records, seed=0)
    train, val, test = tracks_of(parts.train), tracks_of(parts.val), tracks_of(parts.test)
    assert not (train & val) and not (train & test) and not (val & test)
    all_ids = [r.sequence for r in parts.train + parts.val + parts.test]
    assert sorted(all_ids) == sorted(r.sequence for r in records)


def test_stratified_80_10_10_at_track_level() -> None:
    records = make_records({label: 20 for label in (4, 7, 48, 89)})
    parts = split_records(records, seed=3)
    for name, expected in (("train", 16), ("val", 2), ("test", 2)):
        per_label = Counter(r.label for r in {(r.track, r.label): r
                                              for r in getattr(parts, name)}.values())
        assert per_label == {4: expected, 7: expected, 48: expected, 89: expected}, name


def test_deterministic_and_seeded() -> None:
    records = make_records({label: 10 for label in range(5)})
    assert split_records(records, seed=1) == split_records(list(reversed(records)), seed=1)
    assert split_records(records, seed=1).ids() != split_records(records, seed=2).ids()


@pytest.mark.parametrize("n_tracks, expected", [(1, (1, 0, 0)), (2, (1, 1, 0)), (3, (1, 1, 1)),
                                                (5, (3, 1, 1)), (10, (8, 1, 1))])
def test_few_tracks_train_first(n_tracks: int, expected: tuple) -> None:
    parts = split_records(make_records({9: n_tracks}, seqs_per_track=1))
    assert (len(parts.train), len(parts.val), len(parts.test)) == expected


def test_track_with_two_labels_is_an_error() -> None:
    records = make_records({4: 2}, seqs_per_track=1)
    records.append(SequenceRecord(7, records[0].track, "7/x", (Path("f.jpg"),), None))
    with pytest.raises(DatasetError, match="one label"):
        split_records(records)


@pytest.mark.parametrize("fractions", [(0.5, 0.5), (0.9, 0.1, 0.1), (0.0, 0.5, 0.5),
                                       (1.2, -0.1, -0.1)])
def test_bad_fractions(fractions: tuple) -> None:
    with pytest.raises(InputError, match="fractions"):
        split_records(make_records({1: 3}), fractions=fractions)


def test_cache_written_then_reused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    records = make_records({label: 10 for label in range(3)})
    cache = tmp_path / "run" / "splits.json"
    first = training_splits(records, cache.parent, seed=5)
    data = json.loads(cache.read_text())
    assert data["seed"] == 5 and data["fingerprint"] == fingerprint(records)
    assert data["train"] == [r.sequence for r in first.train]
    assert [p.name for p in cache.parent.iterdir()] == ["splits.json"]  # no temp files left

    def no_resplit(*args, **kwargs):
        raise AssertionError("the cache should have been reused")

    monkeypatch.setattr(splits_mod, "split_records", no_resplit)
    assert training_splits(records, cache.parent, seed=5) == first


def test_cache_invalidated_when_dataset_changes(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    records = make_records({label: 10 for label in range(3)})
    cache = tmp_path / "splits.json"
    training_splits(records, cache.parent)
    extra = SequenceRecord(1, "1/new", "1/new/s0", (Path("f.jpg"),), None)
    changed = records[1:] + [extra]
    with caplog.at_level(logging.WARNING, logger="jersey_edge"):
        parts = training_splits(changed, cache.parent)
    message = caplog.records[-1].getMessage()
    assert caplog.records[-1].levelno == logging.WARNING
    assert "INVALIDATED" in message and "1 sequence(s) added, 1 removed" in message
    assert json.loads(cache.read_text())["fingerprint"] == fingerprint(changed)
    assert extra in parts.train + parts.val + parts.test


def test_cache_invalidated_by_frame_count_seed_or_corruption(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    records = make_records({label: 4 for label in range(2)})
    cache = tmp_path / "splits.json"
    training_splits(records, cache.parent)
    more_frames = [SequenceRecord(r.label, r.track, r.sequence, r.frames * 2, None)
                   for r in records]
    with caplog.at_level(logging.WARNING, logger="jersey_edge"):
        training_splits(more_frames, cache.parent)
        training_splits(more_frames, cache.parent, seed=1)
        cache.write_text("{not json")
        training_splits(more_frames, cache.parent, seed=1)
        training_splits(more_frames, cache.parent, seed=1)  # valid again: silent
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 3
    assert "frame counts differ" in messages[0]
    assert "seed 0 there, 1 now" in messages[1]
    assert "unreadable" in messages[2]
