"""Training-side loading and the contact sheet decode frames like the runtime does: JPEG/PNG
only, alpha on the configured pad value, unreadable frames skipped, frames in natural order."""

import logging
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from jersey_edge.core.preprocess import PreprocessConfig
from jersey_edge.data import preview
from jersey_edge.data.dataset import SequenceDataset
from jersey_edge.data.discovery import SequenceRecord, discover
from jersey_edge.data.preview import CAPTION, CELL, TAG, contact_sheet
from tests import image_formats

RAW = PreprocessConfig(height=8, width=4, pad_value=30, sharpness=1.0, mean=(0.0, 0.0, 0.0),
                       std=(1.0, 1.0, 1.0))


def record(*frames: Path) -> SequenceRecord:
    return SequenceRecord(label=5, track="5/seq", sequence="5/seq", frames=tuple(frames))


@pytest.mark.parametrize("case", sorted(image_formats.UNDECODABLE))
def test_loader_skips_undecodable_frames_with_one_warning(
        tmp_path: Path, jpeg, caplog: pytest.LogCaptureFixture, case: str) -> None:
    good = jpeg(tmp_path / "seq/frame_0.jpg", size=(4, 8))
    bad = image_formats.write(tmp_path / "seq/frame_1.jpg", case)
    dataset = SequenceDataset([record(good, bad)], preprocess=RAW, max_frames=4)
    with caplog.at_level(logging.WARNING, logger="jersey_edge"):
        assert dataset[0]["mask"].tolist() == [1.0, 0.0, 0.0, 0.0]
        assert dataset[0]["mask"].sum() == 1
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 1 and "frame_1.jpg: not a readable image" in messages[0]


def test_loader_composites_alpha_on_the_configured_pad_value(tmp_path: Path) -> None:
    frame = np.zeros((8, 4, 4), np.uint8)
    frame[..., 0] = 255
    Image.fromarray(frame).save(tmp_path / "clear.png")
    item = SequenceDataset([record(tmp_path / "clear.png")], preprocess=RAW, max_frames=1)[0]
    assert np.all(item["frames"][0].numpy() == 30)


# --- the contact sheet --------------------------------------------------------------------

def test_sheet_draws_around_undecodable_frames(tmp_path: Path, jpeg) -> None:
    seq = tmp_path / "data/5/t0/s0"
    jpeg(seq / "frame_0.jpg")
    for i, case in enumerate(sorted(image_formats.UNDECODABLE), start=1):
        image_formats.write(seq / f"frame_{i}.jpg", case)
    image_formats.write(seq / "anchor.jpg", "EPS")
    out = contact_sheet(tmp_path / "data", tmp_path / "sheet.png", rows=1, frames_per_row=8)
    with Image.open(out) as sheet:
        assert sheet.size == (8 * CELL[0], CAPTION + CELL[1] + TAG)


def test_sheet_ignores_non_ascii_digit_label_folders(tmp_path: Path, jpeg) -> None:
    jpeg(tmp_path / "data/²/t0/s0/frame_0.jpg")
    jpeg(tmp_path / "data/4/t0/s0/frame_0.jpg")
    out = contact_sheet(tmp_path / "data", tmp_path / "sheet.png", rows=5)
    with Image.open(out) as sheet:
        assert sheet.size[1] == CAPTION + CELL[1] + TAG


def test_sheet_cells_are_in_natural_frame_order(tmp_path: Path, jpeg) -> None:
    seq = tmp_path / "5/seq"
    for i in (1, 10, 2, 3):
        jpeg(seq / f"frame_{i}.jpg")
    jpeg(seq / "anchor.jpg")
    (record,) = discover(tmp_path).records
    cells = preview._cells(record, 3)
    assert [(tag, path.name) for tag, path in cells] == [
        ("anchor", "anchor.jpg"), ("#0", "frame_1.jpg"), ("#3", "frame_10.jpg")]
    assert [path.name for _, path in preview._cells(record, 5)][1:] == [
        "frame_1.jpg", "frame_2.jpg", "frame_3.jpg", "frame_10.jpg"]
