"""Frames are in natural order (frame_2 before frame_10) wherever a folder is read."""

from pathlib import Path
from typing import List

import pytest

from jersey_edge.core.sequence_folders import frame_sort_key, sequence_frames, split_sequence_folder


def names_in_order(names: List[str]) -> List[str]:
    return sorted(names, key=lambda name: frame_sort_key(Path(name)))


def touch_all(folder: Path, names: List[str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        (folder / name).write_bytes(b"")
    return folder


@pytest.mark.parametrize("names,expected", [
    (["frame_10.jpg", "frame_2.jpg", "frame_1.jpg"],
     ["frame_1.jpg", "frame_2.jpg", "frame_10.jpg"]),
    (["frame_010.jpg", "frame_002.jpg", "frame_001.jpg"],
     ["frame_001.jpg", "frame_002.jpg", "frame_010.jpg"]),
    (["b2.jpg", "a10.jpg", "a9.jpg"], ["a9.jpg", "a10.jpg", "b2.jpg"]),
    (["10.png", "9.png", "100.png"], ["9.png", "10.png", "100.png"]),
    (["t1_f10.jpg", "t1_f9.jpg", "t10_f1.jpg", "t2_f1.jpg"],
     ["t1_f9.jpg", "t1_f10.jpg", "t2_f1.jpg", "t10_f1.jpg"]),
])
def test_numbers_in_names_sort_as_numbers(names, expected):
    assert names_in_order(names) == expected


def test_ties_and_odd_names_are_ordered_deterministically():
    names = ["f01.jpg", "f1.jpg", "f².jpg", "f.jpg", "f1a.jpg"]
    assert names_in_order(names) == names_in_order(list(reversed(names)))
    assert names_in_order(["f01.jpg", "f1.jpg"]) == ["f01.jpg", "f1.jpg"]


def test_sequence_folders_list_frames_in_natural_order(tmp_path: Path):
    folder = touch_all(tmp_path / "seq", [f"frame_{i}.jpg" for i in (1, 10, 2, 11, 3)]
                       + ["anchor.jpg"])
    frames, anchor = split_sequence_folder(folder)
    expected = [f"frame_{i}.jpg" for i in (1, 2, 3, 10, 11)]
    assert [p.name for p in frames] == expected
    assert anchor == folder / "anchor.jpg"
    assert [p.name for p in sequence_frames(folder)] == expected
