"""The export folder's neighbours are left alone, a symlinked destination is followed, and
the manifest records the hash of the checkpoint bytes that were actually exported."""

import hashlib
import json
from pathlib import Path

import torch

from jersey_edge.export.folder import publish, remove_strays, staging_folder
from jersey_edge.export.pipeline import ExportOptions, export_model
from jersey_edge.model.net import load_checkpoint
from jersey_edge.runtime.artifacts import MANIFEST


def test_glob_characters_in_the_name_touch_no_other_export(tmp_path: Path) -> None:
    others = [".a1.tmp-abcd1234", ".a2.old-abcd1234", ".a.tmp-b.tmp-abcd1234"]
    ours = [".a[12].tmp-abcd1234", ".a[12].old-abcd1234"]
    for name in others + ours:
        (tmp_path / name).mkdir()
    remove_strays(tmp_path / "a[12]")
    remove_strays(tmp_path / "a")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(others)


def test_a_symlinked_destination_is_followed_to_its_folder(tmp_path: Path) -> None:
    real = tmp_path / "releases" / "v3"
    real.mkdir(parents=True)
    (real / MANIFEST).write_text("old")
    link = tmp_path / "artifacts"
    link.symlink_to(real)
    with staging_folder(link) as stage:
        (stage / MANIFEST).write_text("new")
        publish(stage, link)
    assert link.is_symlink() and link.resolve() == real.resolve()
    assert (real / MANIFEST).read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["artifacts", "releases"]
    assert [p.name for p in real.parent.iterdir()] == ["v3"]


def test_checkpoint_is_hashed_from_the_bytes_that_were_loaded(tiny_checkpoint, tmp_path) -> None:
    checkpoint = tiny_checkpoint(tmp_path, tmp_path / "data")
    data = checkpoint.read_bytes()
    loaded = load_checkpoint(checkpoint)
    assert loaded.sha256 == hashlib.sha256(data).hexdigest()


def test_export_records_the_hash_of_the_checkpoint_it_exported(
        tiny_dataset, tiny_checkpoint, tmp_path, monkeypatch) -> None:
    checkpoint = tiny_checkpoint(tmp_path / "run", tiny_dataset)
    original = hashlib.sha256(checkpoint.read_bytes()).hexdigest()
    real_load = torch.load

    def load_then_replace(source, *args, **kwargs):
        loaded = real_load(source, *args, **kwargs)
        checkpoint.write_bytes(b"a newer checkpoint, saved while the export runs")
        return loaded

    monkeypatch.setattr(torch, "load", load_then_replace)
    out = tmp_path / "artifacts"
    export_model(checkpoint, out, options=ExportOptions(golden_size=2, progress=False))
    recorded = json.loads((out / MANIFEST).read_text())["checkpoint_sha256"]
    assert recorded == original
