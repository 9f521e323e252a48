"""The SoccerNet jersey-number layout: discovery, its own splits, illegible tracklets, bad input."""

import json
import logging
from pathlib import Path
from typing import Dict, Optional

import pytest

from jersey_edge.core.errors import DatasetError, InputError
from jersey_edge.data.discovery import discover
from jersey_edge.data.soccernet import ILLEGIBLE, NO_FOLDER, NO_GROUND_TRUTH
from jersey_edge.data.splits import load_splits, split_records, training_splits
from tests.conftest import write_jpeg

TRAIN_GT = {"0": 4, "1": 4, "2": 4, "3": 7, "4": 7, "5": 7, "6": -1, "7": -1, "8": 48,
            "9": 48}
TEST_GT = {"0": 4, "1": 7, "2": -1}


def write_tracklet(folder: Path, number: int, frames: int) -> None:
    for i in range(frames):
        write_jpeg(folder / f"{folder.name}_{i + 1}.jpg", size=(32 + 2 * i, 64),
                   text="?" if number == ILLEGIBLE else str(number))


def write_split(root: Path, split: str, gt: Optional[Dict[str, int]]) -> None:
    for tracklet, number in (gt or {"0": 5}).items():
        write_tracklet(root / split / "images" / tracklet, number, 2 + int(tracklet) % 3)
    if gt is not None:
        (root / split / f"{split}_gt.json").write_text(json.dumps(gt))


@pytest.fixture
def soccernet(tmp_path: Path) -> Path:
    """train and test with ground truth (two -1s in train, one in test), challenge without."""
    root = tmp_path / "soccernet"
    write_split(root, "train", TRAIN_GT)
    write_split(root, "test", TEST_GT)
    write_split(root, "challenge", None)
    return root


def test_discovers_every_tracklet_with_its_number_and_split(soccernet: Path) -> None:
    found = discover(soccernet)
    by_id = {r.sequence: r for r in found.records}
    assert set(by_id) == ({f"train/images/{t}" for t in TRAIN_GT}
                          | {f"test/images/{t}" for t in TEST_GT})
    for split, gt in (("train", TRAIN_GT), ("test", TEST_GT)):
        for tracklet, number in gt.items():
            record = by_id[f"{split}/images/{tracklet}"]
            assert (record.label, record.source_split) == (number, split)
            assert record.legible is (number != ILLEGIBLE)
            assert record.track == record.sequence  # a tracklet is its own track
            assert record.anchor is None
    frames = by_id["train/images/2"].frames
    assert [p.name for p in frames] == ["2_1.jpg", "2_2.jpg", "2_3.jpg", "2_4.jpg"]
    assert found.skipped == {"SoccerNet split other than train/test (challenge)": 1}


def test_illegible_tracklets_are_counted_in_one_log_line(soccernet: Path, caplog) -> None:
    with caplog.at_level(logging.INFO, logger="jersey_edge"):
        discover(soccernet)
    lines = [r.getMessage() for r in caplog.records if "illegible tracklet" in r.getMessage()]
    assert len(lines) == 1
    assert "3 illegible tracklet(s)" in lines[0] and "test 1, train 2" in lines[0]


def test_test_folder_is_the_test_split_and_val_comes_off_train(soccernet: Path) -> None:
    splits = split_records(discover(soccernet).records, seed=0)
    assert {r.sequence for r in splits.test} == {"test/images/0", "test/images/1"}
    assert all(r.source_split == "train" for r in splits.train + splits.val)
    # Stratified at tracklet level: every train-folder label keeps tracklets in train, and
    # each label with 2+ tracklets gives one to val.
    assert sorted(r.label for r in splits.val) == [4, 7, 48]
    assert {r.label for r in splits.train} == {4, 7, 48}
    assert not {r.sequence for r in splits.train} & {r.sequence for r in splits.val}


def test_illegible_tracklets_stay_out_of_train_val_test_but_are_kept(soccernet: Path) -> None:
    splits = split_records(discover(soccernet).records, seed=0)
    assert all(r.legible for r in splits.train + splits.val + splits.test)
    illegible = splits.illegible
    assert [r.sequence for r in illegible["test"]] == ["test/images/2"]
    assert sorted(r.sequence for r in illegible["train"] + illegible["val"]) == [
        "train/images/6", "train/images/7"]
    assert len(illegible["val"]) == 1  # split like a label of their own: val gets its share


def test_records_with_and_without_a_dataset_split_do_not_mix(soccernet: Path,
                                                            tiny_dataset: Path) -> None:
    mixed = discover(soccernet).records + discover(tiny_dataset).records
    with pytest.raises(DatasetError, match="expected only train and test, or none"):
        split_records(mixed)


def test_the_cached_split_keeps_the_illegible_tracklets(soccernet: Path, tmp_path: Path) -> None:
    made = training_splits(discover(soccernet).records, tmp_path / "run", seed=3)
    cached = json.loads((tmp_path / "run" / "splits.json").read_text())
    assert "test/images/2" in cached["test"]
    assert load_splits(discover(soccernet).records, tmp_path / "run", seed=3) == made


def test_skips_folders_without_images_or_ground_truth_and_entries_without_folders(
        soccernet: Path, caplog) -> None:
    images = soccernet / "train" / "images"
    (images / "1").rename(images / "no_gt")  # a folder no entry names, and an entry left bare
    for path in (images / "3").iterdir():
        path.unlink()  # a tracklet folder without images
    with caplog.at_level(logging.WARNING, logger="jersey_edge"):
        found = discover(soccernet)
    assert found.skipped[NO_GROUND_TRUTH] == 1
    assert found.skipped[NO_FOLDER] == 1
    assert found.skipped["tracklet folder without images"] == 1
    assert not {"train/images/1", "train/images/3", "train/images/no_gt"} & {
        r.sequence for r in found.records}
    assert any(NO_FOLDER in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("content, problem", [
    ("{\"0\": 4,", "not readable JSON"),
    ("[4, 7]", "holds a JSON list"),
    ("{\"0\": 100}", "tracklet '0' has number 100"),
    ("{\"0\": \"4\"}", "tracklet '0' has number '4'"),
    ("{\"0\": true}", "tracklet '0' has number True"),
    ("{\"0\": -2}", "tracklet '0' has number -2"),
])
def test_malformed_ground_truth_is_a_one_line_input_error(soccernet: Path, content: str,
                                                          problem: str) -> None:
    gt = soccernet / "test" / "test_gt.json"
    gt.write_text(content)
    with pytest.raises(InputError, match=problem) as raised:
        discover(soccernet)
    message = str(raised.value)
    assert message.startswith(str(gt)) and "\n" not in message
    assert "-1 if illegible" in message


def test_a_train_or_test_folder_without_ground_truth_is_an_input_error(soccernet: Path) -> None:
    (soccernet / "train" / "train_gt.json").unlink()
    with pytest.raises(InputError, match="train_gt.json: missing"):
        discover(soccernet)


def test_label_folders_named_like_split_parts_keep_their_layout(fake_dataset) -> None:
    root = fake_dataset(layout="A", labels=(4,), tracks=2, sequences=1)
    write_jpeg(root / "4" / "images" / "f.jpg")  # a sequence that happens to be "images"
    found = discover(root)
    assert {r.label for r in found.records} == {4}
    assert all(r.source_split is None for r in found.records)


def test_evaluate_reads_the_soccernet_test_folder(soccernet: Path, tiny_checkpoint,
                                                  tmp_path: Path) -> None:
    from jersey_edge.train.evaluate import evaluate

    checkpoint = tiny_checkpoint(tmp_path / "run", soccernet)
    result = evaluate(checkpoint, split="test", progress=False)
    assert result.n == 2  # the legible test tracklets; the illegible one has no class
    assert set(result.per_label) == {4, 7}
