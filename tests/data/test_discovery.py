import logging
import shutil
from pathlib import Path

import pytest
from PIL import Image

from jersey_edge.core.errors import DatasetError
from jersey_edge.data.discovery import discover


def test_project_b_layout(tiny_dataset: Path) -> None:
    found = discover(tiny_dataset)
    assert found.skipped == {}
    assert len(found.records) == 3 * 3 * 2
    first = found.records[0]
    assert (first.label, first.track, first.sequence) == (4, "4/track_00", "4/track_00/seq_00")
    assert [p.name for p in first.frames] == [f"frame_{i:03d}.jpg" for i in range(4)]
    assert first.anchor == tiny_dataset / "4/track_00/seq_00/anchor.jpg"
    assert {r.label for r in found.records} == {4, 7, 48}
    assert len({r.track for r in found.records}) == 9


def test_project_a_layout_track_is_the_sequence(tiny_dataset_a: Path) -> None:
    found = discover(tiny_dataset_a)
    assert len(found.records) == 3 * 6
    assert all(r.track == r.sequence for r in found.records)
    assert found.records[0].sequence == "4/seq_00"


def test_sorted_and_deterministic(tiny_dataset: Path) -> None:
    records = discover(tiny_dataset).records
    assert records == sorted(records, key=lambda r: (r.label, r.sequence))
    assert records == discover(tiny_dataset).records
    # numeric label order, not string order: 4 < 7 < 48
    assert [r.label for r in records][::6] == [4, 7, 48]


def test_layout_detected_per_folder(tmp_path: Path, fake_dataset) -> None:
    fake_dataset(tmp_path, layout="A", labels=(5,), tracks=2, sequences=1)
    fake_dataset(tmp_path, layout="B", labels=(23,), tracks=2, sequences=2)
    records = discover(tmp_path).records
    assert [r.track for r in records if r.label == 5] == ["5/seq_00", "5/seq_01"]
    assert {r.track for r in records if r.label == 23} == {"23/track_00", "23/track_01"}
    assert len(records) == 2 + 4


def test_heldout_is_excluded_silently_and_discoverable(tmp_path: Path, fake_dataset) -> None:
    fake_dataset(tmp_path, labels=(4,), tracks=1, sequences=1)
    fake_dataset(tmp_path / "heldout", labels=(94,), tracks=1, sequences=1)
    found = discover(tmp_path)
    assert [r.label for r in found.records] == [4]
    assert found.skipped == {}
    assert [r.label for r in discover(tmp_path / "heldout").records] == [94]


def test_bad_entries_are_skipped_counted_and_warned_once(
        tmp_path: Path, fake_dataset, caplog: pytest.LogCaptureFixture) -> None:
    fake_dataset(tmp_path, labels=(4, 7), tracks=1, sequences=2, frames=3)
    for junk in ("cats", "07", "100"):
        (tmp_path / junk / "seq").mkdir(parents=True)
    (tmp_path / "4/track_00/seq_00/frame_000.jpg").write_bytes(b"")
    (tmp_path / "4/track_00/seq_00/frame_001.jpg").write_bytes(b"not a jpeg at all")
    (tmp_path / "7/track_00/seq_01/anchor.jpg").write_bytes(b"\xff\xd8garbage")
    (tmp_path / "7/track_00/seq_01/notes.txt").write_text("ignored: not an image")
    with caplog.at_level(logging.WARNING, logger="jersey_edge"):
        found = discover(tmp_path, min_frames=2)
    assert found.skipped == {
        "empty image file": 1,
        "fewer than 2 frame(s)": 1,
        "not a label folder": 3,
        "unreadable image": 2,
    }
    assert [r.sequence for r in found.records] == [
        "4/track_00/seq_01", "7/track_00/seq_00", "7/track_00/seq_01"]
    assert found.records[-1].anchor is None
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "3 not a label folder" in warnings[0].getMessage()


def test_png_jpeg_accepted_and_anchor_only_folder(tmp_path: Path, jpeg) -> None:
    jpeg(tmp_path / "9/a/f1.jpeg")
    Image.new("RGB", (8, 8)).save(tmp_path / "9/a/f0.png")
    jpeg(tmp_path / "9/b/anchor.jpg")
    records = discover(tmp_path).records
    assert [p.name for p in records[0].frames] == ["f0.png", "f1.jpeg"]
    only_anchor = records[1]
    assert [p.name for p in only_anchor.frames] == ["anchor.jpg"]
    assert only_anchor.anchor is None


def test_sequence_of_broken_images_is_still_a_sequence(tmp_path: Path, jpeg) -> None:
    jpeg(tmp_path / "3/good/f0.jpg")
    (tmp_path / "3/broken").mkdir()
    (tmp_path / "3/broken/f0.jpg").write_bytes(b"garbage")
    found = discover(tmp_path)
    assert [r.sequence for r in found.records] == ["3/good"]
    assert found.skipped == {"fewer than 1 frame(s)": 1, "unreadable image": 1}


def test_missing_root(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="does not exist"):
        discover(tmp_path / "nope")


def test_nothing_usable_names_root_and_counts(tmp_path: Path) -> None:
    (tmp_path / "junk").mkdir()
    (tmp_path / "3/seq").mkdir(parents=True)
    (tmp_path / "3/seq/f.jpg").write_bytes(b"")
    with pytest.raises(DatasetError) as err:
        discover(tmp_path)
    message = str(err.value)
    assert str(tmp_path) in message
    assert "1 not a label folder" in message and "1 empty image file" in message


def test_empty_root(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="no usable sequences"):
        discover(tmp_path)


def test_copy_of_dataset_gives_same_relative_ids(tiny_dataset: Path, tmp_path: Path) -> None:
    copy = Path(shutil.copytree(tiny_dataset, tmp_path / "copy"))
    ids = [(r.label, r.track, r.sequence, len(r.frames)) for r in discover(copy).records]
    assert ids == [(r.label, r.track, r.sequence, len(r.frames))
                   for r in discover(tiny_dataset).records]
