import pytest

from jersey_edge.core.fileio import atomic_path, atomic_write_text


def test_atomic_write_replaces_whole_file(tmp_path):
    target = tmp_path / "sub" / "a.txt"
    atomic_write_text(target, "one")
    atomic_write_text(target, "two")
    assert target.read_text() == "two"
    assert [p.name for p in target.parent.iterdir()] == ["a.txt"]


def test_failed_write_leaves_old_file_and_no_temp(tmp_path):
    target = tmp_path / "a.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("crash")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]


def test_stale_temporaries_of_a_killed_write_are_removed(tmp_path):
    from jersey_edge.core.fileio import atomic_path, remove_stale_temporaries

    (tmp_path / ".encoder.int8.engine.k3j2x9.tmp").write_bytes(b"half an engine")
    (tmp_path / "manifest.json").write_text("{}")
    (tmp_path / ".hidden").write_text("a user's file")
    with atomic_path(tmp_path / "kept.bin") as tmp:
        tmp.write_bytes(b"done")
    removed = remove_stale_temporaries(tmp_path)
    assert [p.name for p in removed] == [".encoder.int8.engine.k3j2x9.tmp"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [".hidden", "kept.bin", "manifest.json"]
