"""Bad images and label folders through the real CLI: one `error:` line and exit 2, or a
correct answer; never a traceback."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests import image_formats
from tests.test_bad_inputs import (
    assert_one_line_error,
    cli,
    dataset,
    edit_manifest,
    save,
    sequence_with,
)


@pytest.mark.parametrize("case", sorted(image_formats.UNDECODABLE))
def test_predict_refuses_undecodable_frames(exported, tmp_path, capsys, case):
    folder = sequence_with(tmp_path, lambda path: image_formats.write(path, case))
    code, _, err = cli(capsys, "predict", str(folder), "--artifacts", str(exported.out))
    assert_one_line_error(code, err)
    assert "not a readable image" in err


def predict_json(capsys, folder: Path, artifacts: Path) -> dict:
    code, out, err = cli(capsys, "predict", str(folder), "--artifacts", str(artifacts), "--json")
    assert code == 0, err
    answer = json.loads(out)
    answer.pop("sequence")
    return answer


def predicts_alike(capsys, tmp_path: Path, artifacts: Path, one: np.ndarray,
                   other: np.ndarray) -> bool:
    """Whether two single-frame sequences, saved as PNGs, get the very same answer."""
    folders = []
    for name, pixels in (("one", one), ("other", other)):
        (tmp_path / name).mkdir()
        folders.append(sequence_with(tmp_path / name,
                                     lambda path, a=pixels: Image.fromarray(a).save(path),
                                     "f.png"))
    return predict_json(capsys, folders[0], artifacts) == predict_json(capsys, folders[1],
                                                                        artifacts)


def test_predict_lays_transparent_pixels_on_the_pad_value(exported, tmp_path, capsys):
    artifacts = tmp_path / "artifacts"
    shutil.copytree(exported.out, artifacts)
    edit_manifest(artifacts, lambda data: data["preprocess"].update(pad_value=0))
    clear_green = np.zeros((64, 40, 4), np.uint8)
    clear_green[..., 1] = 255
    black = np.zeros((64, 40, 3), np.uint8)
    assert predicts_alike(capsys, tmp_path, artifacts, clear_green, black)


def test_predict_reads_16_bit_frames_as_their_high_byte(exported, tmp_path, capsys):
    sixteen = np.full((64, 40), 40000, np.uint16)
    eight = np.full((64, 40), 40000 >> 8, np.uint8)
    assert predicts_alike(capsys, tmp_path, exported.out, sixteen, eight)


@pytest.mark.parametrize("label", ["²", "①", "٤"])
def test_train_on_non_ascii_digit_labels_only(tmp_path, capsys, label):
    root = dataset(tmp_path, [f"{label}/t0/s0"])
    code, _, err = cli(capsys, "train", "--data-root", str(root), "--save-dir",
                       str(tmp_path / "run"))
    assert_one_line_error(code, err)
    assert "1 not a label folder" in err


def test_preview_skips_odd_labels_and_undecodable_frames(tmp_path, capsys):
    root = dataset(tmp_path, ["²/t0/s0", "①/s0", "4/t0/s0", "7/s0"])
    for case in image_formats.UNDECODABLE:
        image_formats.write(root / "4/t0/s0" / f"{case}.jpg", case)
    out = tmp_path / "sheet.png"
    code, stdout, err = cli(capsys, "data", "preview", "--data-root", str(root), "--out",
                            str(out), "--rows", "8")
    assert code == 0, err
    assert stdout.strip() == f"wrote {out}"
    with Image.open(out) as sheet:
        assert sheet.format == "PNG" and sheet.height == 2 * (14 + 112 + 11)


def test_a_frame_past_pillows_warning_size_is_one_line(exported, tmp_path):
    """Pillow warns above ~89M pixels; our own, lower limit must be the only line. A real
    process: in-process, pytest would swallow the warning."""
    huge = Image.new("1", (10_000, 9_000))
    folder = sequence_with(tmp_path, save(huge, format="PNG"), name="f.png")
    run = subprocess.run(
        [sys.executable, "-m", "jersey_edge", "predict", str(folder), "--artifacts",
         str(exported.out)], capture_output=True, text=True, timeout=120)
    assert_one_line_error(run.returncode, run.stderr)
