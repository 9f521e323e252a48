"""The contact sheet: a PNG with one row per sequence of any layout discovery reads, clear
errors for empty datasets."""

from pathlib import Path

import pytest
from PIL import Image

from jersey_edge.core.errors import DatasetError
from jersey_edge.data.preview import CAPTION, CELL, TAG, contact_sheet
from tests.data.test_soccernet import TEST_GT, TRAIN_GT, write_split


def _frame(path: Path, size=(40, 72), colour=(200, 40, 40)) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, colour).save(path, quality=90)


@pytest.fixture()
def dataset(tmp_path: Path) -> Path:
    root = tmp_path / "data"
    for label in (4, 7, 48):
        for track in range(2):
            seq = root / str(label) / f"t{track}" / "s0"
            for i in range(5):
                _frame(seq / f"frame_{i:03d}.jpg", colour=(label * 5, 80, 40 * track))
            _frame(seq / "anchor.jpg")
    _frame(root / "9" / "seq_a" / "frame_000.jpg", size=(140, 300))  # the flat layout
    _frame(root / "notes" / "x" / "frame_000.jpg")  # not a label: ignored
    return root


def test_sheet_has_expected_size_and_rows(dataset: Path, tmp_path: Path) -> None:
    out = contact_sheet(dataset, tmp_path / "sheet.png", rows=3, frames_per_row=4, seed=1)
    with Image.open(out) as image:
        assert image.format == "PNG"
        assert image.size == (4 * CELL[0], 3 * (CAPTION + CELL[1] + TAG))
    assert not list(tmp_path.glob(".sheet.png*"))  # written atomically, no temp left


def test_rows_capped_by_sequences_and_deterministic(dataset: Path, tmp_path: Path) -> None:
    first = contact_sheet(dataset, tmp_path / "a.png", rows=50, frames_per_row=6)
    second = contact_sheet(dataset, tmp_path / "b.png", rows=50, frames_per_row=6)
    assert first.read_bytes() == second.read_bytes()
    with Image.open(first) as image:
        assert image.size[1] == 7 * (CAPTION + CELL[1] + TAG)  # 6 track sequences + 1 flat one


def test_empty_or_missing_dataset_raises(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError, match="no usable sequences"):
        contact_sheet(tmp_path / "empty", tmp_path / "x.png")
    with pytest.raises(DatasetError, match="does not exist"):
        contact_sheet(tmp_path / "missing", tmp_path / "x.png")
    assert not (tmp_path / "x.png").exists()


def test_soccernet_layout_is_previewed_with_its_illegible_tracklets(tmp_path: Path) -> None:
    """Its tracklets are the sequences training reads: 4, 7, 48 and illegible, each a row."""
    root = tmp_path / "soccernet"
    write_split(root, "train", TRAIN_GT)
    write_split(root, "test", TEST_GT)
    out = contact_sheet(root, tmp_path / "sheet.png", rows=4, frames_per_row=3)
    with Image.open(out) as image:
        assert image.size == (3 * CELL[0], 4 * (CAPTION + CELL[1] + TAG))
