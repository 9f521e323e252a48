"""Bad-input corpus: every case is either handled or ends in one line on stderr + exit 2.

Inputs are made here (or read from tests/data/bad/) and fed through the real CLI entry
point, in-process. Never a traceback, never a hang.
"""

import json
import shutil
from pathlib import Path
from typing import Callable, List

import numpy as np
import pytest
import torch
from PIL import Image

from jersey_edge.cli import main
from jersey_edge.data.discovery import discover
from jersey_edge.runtime import InputError, Recognizer
from jersey_edge.runtime.artifacts import MANIFEST

BAD = Path(__file__).parent / "data" / "bad"


def cli(capsys, *args: str) -> tuple:
    """Run the CLI in-process -> (exit code, stdout, stderr)."""
    try:
        main(list(args))
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out = capsys.readouterr()
    return code, out.out, out.err


def assert_one_line_error(code: int, err: str, *words: str) -> None:
    """Exit code 2 and one `error:` line on stderr, holding each of `words`."""
    assert code == 2, err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert all(word in lines[0] for word in words), err


def sequence_with(tmp_path: Path, write: Callable[[Path], None], name: str = "f.jpg") -> Path:
    folder = tmp_path / "seq"
    folder.mkdir()
    write(folder / name)
    return folder


def save(img: Image.Image, **kwargs) -> Callable[[Path], None]:
    return lambda path: img.save(path, **kwargs)


HANDLED_IMAGES = {
    "cmyk": save(Image.new("CMYK", (40, 64), (0, 120, 200, 10)), format="JPEG"),
    "16-bit": save(Image.fromarray(np.full((64, 40), 40000, np.uint16)), format="PNG"),
    "palette": save(Image.new("RGB", (40, 64), (200, 30, 30)).convert("P"), format="PNG"),
    "rgba": save(Image.new("RGBA", (40, 64), (200, 30, 30, 100)), format="PNG"),
    "grayscale": save(Image.new("L", (40, 64), 90), format="JPEG"),
    "1x1": save(Image.new("RGB", (1, 1), (9, 9, 9)), format="JPEG"),
}

REFUSED_IMAGES = {
    "zero-byte": lambda p: p.write_bytes(b""),
    "truncated": lambda p: p.write_bytes((BAD / "truncated.jpg").read_bytes()),
    "not-an-image": lambda p: p.write_text("this is not a JPEG"),
    "bomb-header": lambda p: p.write_bytes((BAD / "bomb_20000x20000.png").read_bytes()),
}


@pytest.mark.parametrize("case", sorted(HANDLED_IMAGES))
def test_odd_images_are_converted(exported, tmp_path, capsys, case):
    folder = sequence_with(tmp_path, HANDLED_IMAGES[case],
                           "f.png" if case in ("16-bit", "palette", "rgba") else "f.jpg")
    code, out, err = cli(capsys, "predict", str(folder), "--artifacts", str(exported.out))
    assert code == 0, err
    assert out.startswith(str(folder))


@pytest.mark.parametrize("case", sorted(REFUSED_IMAGES))
def test_broken_images_are_one_line_errors(exported, tmp_path, capsys, case):
    folder = sequence_with(tmp_path, REFUSED_IMAGES[case])
    assert_one_line_error(*cli(capsys, "predict", str(folder), "--artifacts",
                               str(exported.out))[::2])


def test_empty_sequence_folder(exported, tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    assert_one_line_error(*cli(capsys, "predict", str(tmp_path / "empty"), "--artifacts",
                               str(exported.out))[::2])


@pytest.mark.parametrize("count", [1, 500])
def test_one_and_500_frame_sequences_are_handled(exported, tmp_path, capsys, count):
    source = discover(exported.data_root).records[0].frames[0]
    folder = tmp_path / "seq"
    folder.mkdir()
    for i in range(count):
        shutil.copy(source, folder / f"{i:04d}.jpg")
    code, out, err = cli(capsys, "predict", str(folder), "--artifacts", str(exported.out),
                         "--json")
    assert code == 0, err
    assert len(json.loads(out)["attention"]) == min(count, exported.max_frames)


def dataset(tmp_path: Path, layout: List[str]) -> Path:
    root = tmp_path / "dataset"
    root.mkdir()
    for rel in layout:
        folder = root / rel
        folder.mkdir(parents=True)
        Image.new("RGB", (40, 64), (200, 30, 30)).save(folder / "000.jpg")
    return root


@pytest.mark.parametrize("layout", [["abc/t0/s0"], ["123/t0/s0", "007/t1/s1"], [],
                                    ["heldout/4/t0/s0"]])
def test_datasets_without_usable_sequences(tmp_path, capsys, layout):
    root = dataset(tmp_path, layout)
    assert_one_line_error(*cli(capsys, "train", "--data-root", str(root), "--save-dir",
                               str(tmp_path / "run"))[::2])


def test_missing_dataset(tmp_path, capsys):
    assert_one_line_error(*cli(capsys, "train", "--data-root", str(tmp_path / "nope"),
                               "--save-dir", str(tmp_path / "run"))[::2])


def bad_checkpoints(exported, tmp_path: Path) -> dict:
    good = exported.checkpoint.read_bytes()
    cases = {
        "corrupt": b"\x00garbage" * 100,
        "truncated": good[: len(good) // 2],
    }
    paths = {}
    for name, data in cases.items():
        paths[name] = tmp_path / f"{name}.pt"
        paths[name].write_bytes(data)
    other = tmp_path / "other_architecture.pt"
    torch.save({"conv.weight": torch.zeros(3, 3)}, other)
    paths["other architecture"] = other
    paths["missing"] = tmp_path / "missing.pt"
    return paths


@pytest.mark.parametrize("case", ["corrupt", "truncated", "other architecture", "missing"])
@pytest.mark.parametrize("command", ["evaluate", "export"])
def test_bad_checkpoints(exported, tmp_path, capsys, case, command):
    checkpoint = bad_checkpoints(exported, tmp_path)[case]
    assert_one_line_error(*cli(capsys, command, "--checkpoint", str(checkpoint),
                               "--data-root", str(exported.data_root))[::2])


def edit_manifest(folder: Path, edit: Callable[[dict], None]) -> None:
    path = folder / MANIFEST
    data = json.loads(path.read_text())
    edit(data)
    path.write_text(json.dumps(data))


ARTIFACT_DAMAGE = {
    "tampered onnx": lambda f: (f / "head.onnx").write_bytes(
        (f / "head.onnx").read_bytes()[:-8] + b"tampered"),
    "truncated onnx": lambda f: (f / "encoder.onnx").write_bytes(
        (f / "encoder.onnx").read_bytes()[:1000]),
    "swapped onnx": lambda f: [(f / "encoder.onnx").rename(f / "tmp"),
                               (f / "head.onnx").rename(f / "encoder.onnx"),
                               (f / "tmp").rename(f / "head.onnx")],
    "wrong hash": lambda f: edit_manifest(f, lambda d: d["files"].update(
        {"encoder.onnx": "0" * 64})),
    "wrong schema": lambda f: edit_manifest(f, lambda d: d.update(schema_version=7)),
    "missing keys": lambda f: edit_manifest(f, lambda d: d.pop("preprocess")),
    "manifest not json": lambda f: (f / MANIFEST).write_text("{not json"),
    "no manifest": lambda f: (f / MANIFEST).unlink(),
    "folder missing": lambda f: shutil.rmtree(f),
}


@pytest.mark.parametrize("case", sorted(ARTIFACT_DAMAGE))
def test_damaged_artifacts(exported, tmp_path, capsys, case):
    folder = tmp_path / "artifacts"
    shutil.copytree(exported.out, folder)
    ARTIFACT_DAMAGE[case](folder)
    sequence = discover(exported.data_root).records[0].frames[0].parent
    assert_one_line_error(*cli(capsys, "predict", str(sequence), "--artifacts",
                               str(folder))[::2])


@pytest.mark.parametrize("batch", ["0,-1,abc", "0", "-4", "abc", "1,,x"])
def test_bad_batch_lists(exported, capsys, batch):
    assert_one_line_error(*cli(capsys, "bench", "--artifacts", str(exported.out),
                               "--batch", batch)[::2])


@pytest.fixture(scope="module")
def rec(exported):
    with Recognizer.load(exported.out, backend="onnxruntime") as recognizer:
        yield recognizer


@pytest.mark.parametrize("frames", [
    np.zeros((2, 3, 10, 10), np.float32),  # wrong spatial size
    np.zeros((2, 64, 32, 3), np.float32),  # channels last
    np.zeros((2, 3, 64, 32), np.float64),  # wrong dtype
    np.full((2, 3, 64, 32), np.nan, np.float32),  # NaN
])
def test_bad_arrays_reach_the_encoder_as_input_errors(rec, frames):
    with pytest.raises(InputError):
        rec.encode(frames)


def test_bad_mask_shape_is_an_input_error(rec, exported):
    embeddings = np.zeros((1, exported.max_frames, 256), np.float32)
    with pytest.raises(InputError):
        rec.classify(embeddings, np.ones((1, exported.max_frames + 1), np.float32))
