"""atomic_path gives files the usual modes and makes the rename durable; reading refuses
links and anything that is not a regular file."""

import os
import stat
from pathlib import Path

import pytest

from jersey_edge.core import fileio
from jersey_edge.core.fileio import atomic_write_bytes
from jersey_edge.core.preprocess import PreprocessConfig
from jersey_edge.runtime import artifacts
from jersey_edge.runtime.manifest import Manifest, add_files, write_manifest


@pytest.fixture
def umask_027():
    old = os.umask(0o027)
    try:
        yield
    finally:
        os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_file_gets_the_umask_mode_not_0600(tmp_path, umask_027):
    target = tmp_path / "encoder.fp16.engine"
    atomic_write_bytes(target, b"engine")
    assert target.read_bytes() == b"engine"
    assert mode(target) == 0o640


def test_a_replaced_file_keeps_its_mode(tmp_path, umask_027):
    target = tmp_path / "timing.cache"
    target.write_bytes(b"old")
    target.chmod(0o604)
    atomic_write_bytes(target, b"new")
    assert target.read_bytes() == b"new" and mode(target) == 0o604


def test_add_files_leaves_the_manifest_readable(tmp_path, umask_027):
    (tmp_path / "head.onnx").write_bytes(b"head")
    manifest = Manifest(tmp_path, model={"embed_dim": 8}, preprocess=PreprocessConfig(),
                        labels={}, max_frames=4)
    write_manifest(manifest, ["head.onnx"])
    (tmp_path / "head.fp32.engine").write_bytes(b"engine")
    add_files(tmp_path, ["head.fp32.engine"])
    assert mode(tmp_path / artifacts.MANIFEST) == 0o640


def synced_directories(monkeypatch) -> list:
    """Record the directories fsync is called on (by inode), then fsync as usual."""
    seen: list = []
    real = os.fsync

    def recording(fd: int) -> None:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            seen.append((info.st_dev, info.st_ino))
        real(fd)

    monkeypatch.setattr(fileio.os, "fsync", recording)
    return seen


def test_the_rename_is_made_durable_by_syncing_the_folder(tmp_path, monkeypatch):
    seen = synced_directories(monkeypatch)
    target = tmp_path / "best.pt"
    atomic_write_bytes(target, b"checkpoint")
    info = tmp_path.stat()
    assert (info.st_dev, info.st_ino) in seen
    assert target.read_bytes() == b"checkpoint" and mode(target) == 0o666 & ~current_umask()


def test_a_folder_that_cannot_be_synced_still_gets_the_file(tmp_path, monkeypatch):
    real = os.fsync

    def refuse_directories(fd: int) -> None:
        if stat.S_ISDIR(os.fstat(fd).st_mode):
            raise OSError(22, "Invalid argument")
        real(fd)

    monkeypatch.setattr(fileio.os, "fsync", refuse_directories)
    atomic_write_bytes(tmp_path / "splits.json", b"{}")
    assert (tmp_path / "splits.json").read_bytes() == b"{}"
    assert [p.name for p in tmp_path.iterdir()] == ["splits.json"]


def current_umask() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return umask


def test_read_regular_file_refuses_links_fifos_and_folders(tmp_path):
    (tmp_path / "real").write_bytes(b"bytes")
    assert fileio.read_regular_file(tmp_path / "real") == b"bytes"
    (tmp_path / "link").symlink_to(tmp_path / "real")
    os.mkfifo(tmp_path / "fifo")
    for name, kind in (("link", "symbolic link"), ("fifo", "FIFO"), (".", "folder")):
        with pytest.raises(fileio.NotRegularFileError, match=kind):
            fileio.read_regular_file(tmp_path / name)
    with pytest.raises(FileNotFoundError):
        fileio.read_regular_file(tmp_path / "missing")
