"""Dataset discovery against hostile trees: other formats behind frame names, non-ASCII
digit label folders, numbered frames, symlinked folders."""

import os
from pathlib import Path

import pytest

from jersey_edge.core.errors import DatasetError
from jersey_edge.data.discovery import discover
from tests import image_formats

DUPLICATE = "same folder as another sequence (symlink)"
# Discovery reads headers only; a PNG broken past its header is left to the loader.
BAD_HEADERS = sorted(set(image_formats.UNDECODABLE) - {"syntax error on load"})


# --- item 7: only JPEG/PNG, every decode failure is a counted skip ------------------------

@pytest.mark.parametrize("case", BAD_HEADERS)
def test_undecodable_frames_and_anchors_are_skipped(tmp_path: Path, jpeg, case: str) -> None:
    jpeg(tmp_path / "5/seq/frame_000.jpg")
    image_formats.write(tmp_path / "5/seq/frame_001.jpg", case)
    image_formats.write(tmp_path / "5/seq/anchor.jpg", case)
    found = discover(tmp_path)
    [record] = found.records
    assert [p.name for p in record.frames] == ["frame_000.jpg"]
    assert record.anchor is None
    assert found.skipped == {"unreadable image": 2}


def test_a_sequence_of_only_other_formats_is_skipped(tmp_path: Path, jpeg) -> None:
    jpeg(tmp_path / "5/good/f.jpg")
    for case in image_formats.OTHER_FORMATS:
        image_formats.write(tmp_path / "5/bad" / f"{case}.jpg", case)
    found = discover(tmp_path)
    assert [r.sequence for r in found.records] == ["5/good"]
    assert found.skipped == {"fewer than 1 frame(s)": 1,
                             "unreadable image": len(image_formats.OTHER_FORMATS)}


# --- item 8: ASCII digits only -------------------------------------------------------------

def test_non_ascii_digit_label_folders_are_skipped(tmp_path: Path, jpeg) -> None:
    for name in ("²", "①", "٤", "4"):
        jpeg(tmp_path / name / "seq" / "f.jpg")
    found = discover(tmp_path)
    assert [r.label for r in found.records] == [4]
    assert found.skipped == {"not a label folder": 3}


def test_only_non_ascii_digit_label_folders_is_a_dataset_error(tmp_path: Path, jpeg) -> None:
    jpeg(tmp_path / "²" / "seq" / "f.jpg")
    with pytest.raises(DatasetError, match="1 not a label folder"):
        discover(tmp_path)


# --- item 12: natural frame order ---------------------------------------------------------

def test_record_frames_are_in_natural_order(tmp_path: Path, jpeg) -> None:
    for i in (1, 10, 2, 11, 3):
        jpeg(tmp_path / "8/seq" / f"frame_{i}.jpg")
    for i in (10, 2, 1):
        jpeg(tmp_path / "8/padded" / f"frame_{i:03d}.jpg")
    records = {r.sequence: r for r in discover(tmp_path).records}
    assert [p.name for p in records["8/seq"].frames] == [
        f"frame_{i}.jpg" for i in (1, 2, 3, 10, 11)]
    assert [p.name for p in records["8/padded"].frames] == [
        "frame_001.jpg", "frame_002.jpg", "frame_010.jpg"]


# --- item 17: a folder reached twice through a symlink is one sequence --------------------

def test_symlinked_label_folder_is_not_a_second_copy(tmp_path: Path, fake_dataset) -> None:
    root = fake_dataset(tmp_path, labels=(4, 7), tracks=2, sequences=2, frames=2)
    (root / "44").symlink_to(root / "4", target_is_directory=True)
    found = discover(root)
    assert sorted({r.label for r in found.records}) == [4, 7]
    assert len(found.records) == 8
    assert found.skipped == {DUPLICATE: 4}
    resolved = [(root / r.sequence).resolve() for r in found.records]
    assert len(set(resolved)) == len(resolved)


def test_the_real_folder_wins_over_a_link_that_sorts_first(tmp_path: Path, jpeg) -> None:
    jpeg(tmp_path / "7/seq/f.jpg")
    (tmp_path / "3").symlink_to("7", target_is_directory=True)
    found = discover(tmp_path)
    assert [(r.label, r.sequence) for r in found.records] == [(7, "7/seq")]
    assert found.skipped == {DUPLICATE: 1}


def test_symlinked_track_and_sequence_folders_are_deduplicated(tmp_path: Path,
                                                               fake_dataset) -> None:
    root = fake_dataset(tmp_path, labels=(4,), tracks=1, sequences=2, frames=2)
    os.symlink("track_00", root / "4/track_99", target_is_directory=True)
    os.symlink("seq_00", root / "4/track_00/seq_05", target_is_directory=True)
    found = discover(root)
    assert [r.sequence for r in found.records] == ["4/track_00/seq_00", "4/track_00/seq_01"]
    assert found.skipped == {DUPLICATE: 4}  # seq_05, and all three again via track_99


def test_links_outside_the_root_are_kept_once(tmp_path: Path, jpeg) -> None:
    jpeg(tmp_path / "elsewhere/seq/f.jpg")
    (tmp_path / "data/5").mkdir(parents=True)
    (tmp_path / "data/6").mkdir()
    (tmp_path / "data/5/seq").symlink_to(tmp_path / "elsewhere/seq", target_is_directory=True)
    (tmp_path / "data/6/seq").symlink_to(tmp_path / "elsewhere/seq", target_is_directory=True)
    found = discover(tmp_path / "data")
    assert [r.sequence for r in found.records] == ["5/seq"]
    assert found.skipped == {DUPLICATE: 1}


def test_a_symlinked_root_is_no_duplicate(tiny_dataset: Path, tmp_path: Path) -> None:
    (tmp_path / "link").symlink_to(tiny_dataset, target_is_directory=True)
    via_link = discover(tmp_path / "link")
    assert via_link.skipped == {}
    assert [r.sequence for r in via_link.records] == [
        r.sequence for r in discover(tiny_dataset).records]
