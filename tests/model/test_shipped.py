"""Shipped weights by name (model/shipped.py): a local file wins, the package's copy is
checked by sha256 on every load, and packing drops machine paths and halves the size."""

import hashlib
from pathlib import Path

import pytest
import torch

from jersey_edge.core.errors import CheckpointError
from jersey_edge.model import shipped
from jersey_edge.model.net import load_checkpoint
from tests.test_bad_inputs import assert_one_line_error, cli

NAME = "jersey-test-weights.pt"


@pytest.fixture
def packed(tmp_path, tiny_dataset, tiny_checkpoint, monkeypatch):
    """A tiny checkpoint packed and registered as a shipped file named NAME."""
    weights = tmp_path / "weights"
    digest = shipped.pack_weights(tiny_checkpoint(tmp_path, tiny_dataset), weights / NAME)
    monkeypatch.setattr(shipped, "WEIGHTS_DIR", weights)
    monkeypatch.setitem(shipped.SHIPPED, NAME, digest)
    monkeypatch.chdir(tmp_path)  # no local file of that name
    return weights / NAME


def test_packing_keeps_the_model_in_fp16_without_machine_paths(packed, tmp_path):
    raw = torch.load(packed, weights_only=True)
    floats = [v for v in raw["model_state"].values() if v.is_floating_point()]
    assert floats and all(v.dtype == torch.float16 for v in floats)
    assert "data_root" not in raw["extra"] and str(tmp_path) not in repr(raw["extra"])
    original = load_checkpoint(tmp_path / "best.pt").model.state_dict()
    loaded = load_checkpoint(NAME).model.state_dict()
    for key, value in original.items():
        assert loaded[key].dtype == value.dtype
        torch.testing.assert_close(loaded[key], value, atol=2e-3, rtol=1e-3)


def test_the_shipped_name_resolves_and_a_local_file_wins(packed, tmp_path):
    assert shipped.resolve_checkpoint(NAME) == (packed, shipped.SHIPPED[NAME])
    local = tmp_path / NAME
    local.write_bytes(packed.read_bytes())
    assert shipped.resolve_checkpoint(NAME) == (Path(NAME), None)


def test_a_sha256_mismatch_is_one_line(packed, capsys):
    packed.write_bytes(packed.read_bytes() + b"\0")
    with pytest.raises(CheckpointError, match="does not match the shipped"):
        load_checkpoint(NAME)
    code, _, err = cli(capsys, "evaluate", "--checkpoint", NAME, "--data-root", ".")
    assert_one_line_error(code, err, NAME, "sha256", "reinstall")


def test_the_packaged_weights_match_their_recorded_sha256():
    for name, digest in shipped.SHIPPED.items():
        data = (shipped.WEIGHTS_DIR / name).read_bytes()
        assert hashlib.sha256(data).hexdigest() == digest, name
        assert len(data) <= 10 * 2**20, name
        assert (shipped.WEIGHTS_DIR / name).with_suffix(".md").is_file(), name


def test_the_shipped_synth_weights_load_by_name(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no local file of that name
    loaded = load_checkpoint(shipped.SYNTH_WEIGHTS)
    assert loaded.sha256 == shipped.SHIPPED[shipped.SYNTH_WEIGHTS]
    assert all(p.dtype == torch.float32 for p in loaded.model.parameters())
    assert "data_root" not in loaded.extra  # nothing of the machine that trained it
    frames = torch.zeros(1, 3, 3, loaded.preprocess.height, loaded.preprocess.width)
    with torch.no_grad():
        tens, ones, attention = loaded.model(frames, torch.ones(1, 3))
    assert tens.shape == (1, 11) and ones.shape == (1, 10) and attention.shape == (1, 3)
