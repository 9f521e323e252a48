"""--calib-data: INT8 calibration frames from a folder of deployment crops."""

import json
from pathlib import Path

import pytest

from jersey_edge.core.errors import InputError
from jersey_edge.data.discovery import SequenceRecord, discover
from jersey_edge.data.splits import training_splits
from jersey_edge.export.int8.calibration import folder_frames, folder_source, select_frames
from jersey_edge.export.pipeline import ExportOptions
from jersey_edge.runtime.artifacts import MANIFEST
from tests.conftest import write_jpeg
from tests.test_bad_inputs import assert_one_line_error, cli

CROPS = {"cam_a": 10, "cam_b": 2, "cam_c/clip_1": 5, ".": 1}


@pytest.fixture
def crops(tmp_path: Path) -> Path:
    """Unlabelled crops at several depths (18 images), plus files that are not images."""
    root = tmp_path / "crops"
    for folder, count in CROPS.items():
        for i in range(count):
            suffix = (".jpg", ".JPEG", ".png")[i % 3]
            write_jpeg(root / folder / f"crop_{i}{suffix}", size=(24, 40))
    (root / "cam_a" / "notes.txt").write_text("not an image")
    write_jpeg(root / "cam_b" / "skip.bmp")
    return root


def test_takes_exactly_calib_size_frames_spread_over_subfolders(crops: Path) -> None:
    chosen = folder_frames(crops, 8, seed=0)
    assert len(chosen) == len(set(chosen)) == 8
    folders = {p.parent.relative_to(crops).as_posix() for p in chosen}
    assert folders == set(CROPS)  # every sub-folder, however deep, contributes
    assert sum(p.parent.name == "cam_a" for p in chosen) <= 3  # the big folder does not dominate
    assert all(p.suffix.lower() in (".jpg", ".jpeg", ".png") for p in chosen)


def test_the_choice_is_deterministic_and_seeded(crops: Path) -> None:
    assert folder_frames(crops, 8, seed=0) == folder_frames(crops, 8, seed=0)
    assert folder_frames(crops, 8, seed=0) != folder_frames(crops, 8, seed=5)
    assert len(folder_frames(crops, 18, seed=0)) == 18  # every image, when asked for all


@pytest.mark.parametrize("make", ["missing", "empty", "only_other_files"])
def test_a_folder_without_images_is_an_input_error(tmp_path: Path, make: str) -> None:
    folder = tmp_path / "calib"
    if make != "missing":
        (folder / "sub").mkdir(parents=True)
    if make == "only_other_files":
        (folder / "sub" / "readme.txt").write_text("x")
    with pytest.raises(InputError, match="calibration data") as raised:
        folder_frames(folder, 4, seed=0)
    assert "\n" not in str(raised.value)


def test_more_frames_than_the_folder_holds_is_an_input_error(crops: Path) -> None:
    with pytest.raises(InputError, match=r"holds \(18\); use a smaller --calib-size"):
        folder_frames(crops, 19, seed=0)


def test_a_broken_crop_is_refused_before_any_work(crops: Path) -> None:
    (crops / "cam_b" / "crop_0.jpg").write_bytes(b"")
    with pytest.raises(InputError, match="crop_0.jpg: not a readable image"):
        folder_frames(crops, 18, seed=0)


def test_short_sequences_no_longer_starve_training_split_calibration() -> None:
    records = [SequenceRecord(label=4, track="4/a", sequence="4/a", frames=(Path("4/a/0.jpg"),)),
               SequenceRecord(label=7, track="7/b", sequence="7/b",
                              frames=tuple(Path(f"7/b/{i}.jpg") for i in range(10)))]
    chosen = select_frames(records, 6, seed=0)
    assert len(set(chosen)) == 6 and Path("4/a/0.jpg") in chosen


def test_manifest_section_names_the_folder_instead_of_the_split(crops: Path) -> None:
    section = folder_source({"method": "percentile", "source_split": "train", "frames": 8},
                            crops)
    assert section == {"source_folder": str(crops.resolve()), "method": "percentile",
                       "frames": 8}


def test_calib_data_needs_int8(crops: Path) -> None:
    with pytest.raises(InputError, match="INT8 only"):
        ExportOptions(calib_data=crops).check()


def test_export_cli_refuses_an_empty_calib_folder_in_one_line(capsys, tiny_checkpoint,
                                                              tiny_dataset, tmp_path) -> None:
    checkpoint = tiny_checkpoint(tmp_path / "run", tiny_dataset)
    # as a trained run has it
    training_splits(discover(tiny_dataset).records, tmp_path / "run", seed=3)
    (tmp_path / "empty").mkdir()
    code, _, err = cli(capsys, "export", "--checkpoint", str(checkpoint), "--out",
                       str(tmp_path / "artifacts"), "--int8", "--calib-data",
                       str(tmp_path / "empty"))
    assert_one_line_error(code, err)
    assert "no images" in err and not (tmp_path / "artifacts").exists()


def test_export_int8_calibrates_on_the_folder_and_records_it(capsys, crops, tiny_checkpoint,
                                                             tiny_dataset, tmp_path) -> None:
    checkpoint = tiny_checkpoint(tmp_path / "run", tiny_dataset)
    out = tmp_path / "artifacts"
    code, _, err = cli(capsys, "export", "--checkpoint", str(checkpoint), "--out", str(out),
                       "--int8", "--calib-size", "12", "--calib-data", str(crops),
                       "--accept-degraded")
    assert code == 0, err
    calibration = json.loads((out / MANIFEST).read_text())["int8"]["calibration"]
    assert calibration["source_folder"] == str(crops.resolve())
    assert calibration["frames"] == 12 and "source_split" not in calibration
