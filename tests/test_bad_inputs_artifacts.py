"""Bad artifacts folders through the real CLI: names outside the folder, links, FIFOs,
unreadable or invalid manifests, graphs that disagree with it, awkward --out paths.
Each ends in one `error:` line and exit 2, or in a correct export."""

import hashlib
import json
import os
import shutil
import threading
from pathlib import Path
from typing import Callable

import pytest

from jersey_edge.data.discovery import discover
from jersey_edge.runtime import manifest as manifest_module
from jersey_edge.runtime.artifacts import MANIFEST
from tests.test_bad_inputs import assert_one_line_error, cli


@pytest.fixture
def folder(exported, tmp_path: Path) -> Path:
    copy = tmp_path / "artifacts"
    shutil.copytree(exported.out, copy)
    return copy


def predict(capsys, exported, folder: Path) -> tuple:
    sequence = discover(exported.data_root).records[0].frames[0].parent
    return cli(capsys, "predict", str(sequence), "--artifacts", str(folder))


def edit_manifest(folder: Path, edit: Callable[[dict], None]) -> None:
    path = folder / MANIFEST
    data = json.loads(path.read_text())
    edit(data)
    path.write_text(json.dumps(data))


def list_outside_file(folder: Path) -> None:
    outside = folder.parent / "outside.bin"
    outside.write_bytes(b"not an artifact")
    digest = hashlib.sha256(outside.read_bytes()).hexdigest()
    edit_manifest(folder, lambda d: d["files"].update({"../outside.bin": digest}))


def symlink_graph(folder: Path) -> None:
    real = folder.parent / "head.onnx"
    (folder / "head.onnx").rename(real)
    (folder / "head.onnx").symlink_to(real)


def nest_deeply(folder: Path) -> None:
    text = (folder / MANIFEST).read_text().rstrip()
    (folder / MANIFEST).write_text(text[:-1] + ', "x": ' + "[" * 100_000 + "]" * 100_000 + "}")


BAD_FOLDERS = {
    "lists ../outside.bin": (list_outside_file, "not a file of an artifacts folder"),
    "symlinked graph": (symlink_graph, "symbolic link"),
    "deeply nested manifest": (nest_deeply, "nested too deeply"),
    "max_frames -3": (lambda f: edit_manifest(f, lambda d: d.update(max_frames=-3)),
                      "max_frames"),
    "max_frames 0": (lambda f: edit_manifest(f, lambda d: d.update(max_frames=0)), "max_frames"),
    "height -5": (lambda f: edit_manifest(f, lambda d: d["preprocess"].update(height=-5)),
                  "height"),
    "mean '127'": (lambda f: edit_manifest(f, lambda d: d["preprocess"].update(mean="127")),
                   "mean"),
    "std zeros": (lambda f: edit_manifest(f, lambda d: d["preprocess"].update(std=[0, 0, 0])),
                  "std"),
    "pad_value 300": (lambda f: edit_manifest(f, lambda d: d["preprocess"].update(
        pad_value=300)), "pad_value"),
    "schema true": (lambda f: edit_manifest(f, lambda d: d.update(schema_version=True)),
                    "schema version"),
    "max_frames 3 vs graph 4": (lambda f: edit_manifest(f, lambda d: d.update(max_frames=3)),
                                "disagree"),
}


@pytest.mark.parametrize("case", sorted(BAD_FOLDERS))
def test_bad_artifacts_folders(exported, folder, capsys, case):
    damage, message = BAD_FOLDERS[case]
    damage(folder)
    code, _, err = predict(capsys, exported, folder)
    assert_one_line_error(code, err)
    assert message in err


def test_build_engine_refuses_a_manifest_naming_files_outside(folder, capsys):
    list_outside_file(folder)
    code, _, err = cli(capsys, "build-engine", "--artifacts", str(folder), "--precision", "fp32")
    assert_one_line_error(code, err)
    assert "../outside.bin" in err and "not a file of an artifacts folder" in err


def test_fifo_manifest_is_refused_without_hanging(exported, folder, capsys):
    fifo = folder / MANIFEST
    fifo.unlink()
    os.mkfifo(fifo)
    stop, blocked = threading.Event(), threading.Event()

    def unblock_readers() -> None:
        while not stop.wait(0.05):
            try:
                os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
            except OSError:  # ENXIO: nobody is reading
                continue
            blocked.set()

    watchdog = threading.Thread(target=unblock_readers)
    watchdog.start()
    try:
        code, _, err = predict(capsys, exported, folder)
    finally:
        stop.set()
        watchdog.join()
    assert_one_line_error(code, err)
    assert "not a regular file" in err and not blocked.is_set()


def test_unreadable_manifest_says_so(exported, folder, capsys, monkeypatch):
    def denied(path) -> bytes:
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(manifest_module, "read_regular_file", denied)
    code, _, err = predict(capsys, exported, folder)
    assert_one_line_error(code, err)
    assert "cannot be read" in err and "JSON" not in err


def export(capsys, exported, tiny_checkpoint, tmp_path: Path, out: Path) -> tuple:
    checkpoint = tiny_checkpoint(tmp_path / "run", exported.data_root)
    return cli(capsys, "export", "--checkpoint", str(checkpoint), "--out", str(out),
               "--data-root", str(exported.data_root))


def test_export_to_a_name_with_glob_characters_spares_other_exports(
        exported, tiny_checkpoint, tmp_path, capsys):
    other = tmp_path / ".a1.tmp-abcd1234"  # another export to `a1`, still running
    other.mkdir()
    code, _, err = export(capsys, exported, tiny_checkpoint, tmp_path, tmp_path / "a[12]")
    assert code == 0, err
    assert other.is_dir() and (tmp_path / "a[12]" / MANIFEST).is_file()


def test_export_through_a_symlinked_out_updates_its_target(
        exported, tiny_checkpoint, tmp_path, capsys):
    target = tmp_path / "releases" / "v1"
    target.mkdir(parents=True)
    link = tmp_path / "current"
    link.symlink_to(target)
    code, _, err = export(capsys, exported, tiny_checkpoint, tmp_path, link)
    assert code == 0, err
    assert link.is_symlink() and (target / MANIFEST).is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["current", "releases", "run"]
    assert [p.name for p in target.parent.iterdir()] == ["v1"]
