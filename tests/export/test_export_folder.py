"""Atomic replacement of the artifacts folder."""

from pathlib import Path

import pytest

from jersey_edge.export.folder import publish, remove_strays, staging_folder


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
