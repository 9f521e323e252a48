"""Atomic replacement of the artifacts folder."""

from pathlib import Path

import pytest

from jersey_edge.export.folder import (
    check_destination,
    publish,
    remove_strays,
    staging_folder,
)


def _fill(folder: Path, text: str) -> None:
    (folder / "manifest.json").write_text(text)


def test_publish_swaps_in_the_new_folder_and_drops_the_old(tmp_path: Path) -> None:
    out = tmp_path / "artifacts"
    for version in ("one", "two"):
        with staging_folder(out) as stage:
            _fill(stage, version)
            (stage / version).write_text("")
            publish(stage, out)
        assert (out / "manifest.json").read_text() == version
    assert sorted(p.name for p in out.iterdir()) == ["manifest.json", "two"]
    assert [p.name for p in tmp_path.iterdir()] == ["artifacts"]
    assert oct(out.stat().st_mode & 0o777) != oct(0o700)  # readable by others (umask)


def test_a_failed_export_leaves_the_old_folder_untouched(tmp_path: Path) -> None:
    out = tmp_path / "artifacts"
    out.mkdir()
    _fill(out, "old")
    with pytest.raises(RuntimeError), staging_folder(out) as stage:
        _fill(stage, "half")
        raise RuntimeError("killed")
    assert (out / "manifest.json").read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["artifacts"]


def test_leftovers_of_a_killed_export_are_removed_next_time(tmp_path: Path) -> None:
    out = tmp_path / "artifacts"
    for stray in (".artifacts.tmp-abc", ".artifacts.old-def"):
        (tmp_path / stray).mkdir()
    (tmp_path / ".other.tmp-x").mkdir()
    remove_strays(out)
    assert [p.name for p in tmp_path.iterdir()] == [".other.tmp-x"]


def test_a_folder_that_is_not_an_export_is_refused_and_kept(tmp_path: Path) -> None:
    from jersey_edge.core.errors import InputError

    run = tmp_path / "runs" / "demo"
    run.mkdir(parents=True)
    (run / "best.pt").write_bytes(b"weights")
    with pytest.raises(InputError, match="not a previous export"):
        check_destination(run)
    assert (run / "best.pt").read_bytes() == b"weights"
    empty = tmp_path / "empty"
    empty.mkdir()
    with staging_folder(empty) as stage:  # an empty folder is fine to replace
        _fill(stage, "new")
        publish(stage, empty)
    assert (empty / "manifest.json").read_text() == "new"


def test_export_into_the_checkpoints_own_run_folder_is_refused_up_front(
        tiny_dataset: Path, tiny_checkpoint, tmp_path: Path) -> None:
    """The real CLI, in its own process: one line, exit 2, the checkpoint intact."""
    import subprocess
    import sys

    checkpoint = tiny_checkpoint(tmp_path / "run", tiny_dataset)
    before = checkpoint.read_bytes()
    done = subprocess.run([sys.executable, "-m", "jersey_edge", "export", "--checkpoint",
                           str(checkpoint), "--out", str(checkpoint.parent)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "not a previous export" in lines[0], done.stderr
    assert checkpoint.read_bytes() == before
    assert sorted(p.name for p in checkpoint.parent.iterdir()) == ["best.pt"]
