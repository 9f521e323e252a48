"""JerseyNet composition and checkpoints that either load exactly or fail in one clear line."""

import dataclasses
import hashlib
from pathlib import Path
from typing import Any, Dict, Tuple

import pytest
import torch

from jersey_edge.core.errors import CheckpointError
from jersey_edge.core.preprocess import PreprocessConfig
from jersey_edge.model import net as shipped
from jersey_edge.model.config import ModelConfig
from jersey_edge.model.net import (
    JerseyNet,
    TrainingRecord,
    build_model,
    load_checkpoint,
    save_checkpoint,
)
from tests.test_bad_inputs import assert_one_line_error, cli

CFG = ModelConfig(pretrained=False, embed_dim=32, hidden=16, attn_dim=8)
PRE = PreprocessConfig(height=64, width=32)
B, T = 2, 4


@pytest.fixture(scope="module")
def model() -> JerseyNet:
    torch.manual_seed(0)
    return build_model(CFG).eval()


def _inputs() -> Tuple[torch.Tensor, torch.Tensor]:
    frames = torch.randn(B, T, 3, PRE.height, PRE.width, generator=torch.Generator().manual_seed(2))
    return frames, torch.tensor([[1.0, 1, 1, 1], [1, 1, 0, 0]])


def _save(path: Path, model: JerseyNet, **overrides: Any) -> Path:
    args: Dict[str, Any] = dict(model_state=model.state_dict(), model_cfg=CFG, preprocess=PRE,
                                max_frames=T, extra={"epoch": 3, "history": [{"acc": 0.5}]})
    args.update(overrides)
    return save_checkpoint(path, **args)


def _refused(path: Path, match: str) -> None:
    with pytest.raises(CheckpointError, match=match) as info:
        load_checkpoint(path)
    assert "\n" not in str(info.value)


def test_forward_is_head_of_encoder(model: JerseyNet) -> None:
    frames, mask = _inputs()
    with torch.no_grad():
        tens, ones, attn = model(frames, mask)
        emb = model.encoder(frames.flatten(0, 1)).view(B, T, -1)
        expected = model.head(emb, mask)
    assert (tens.shape, ones.shape, attn.shape) == ((B, 11), (B, 10), (B, T))
    for a, b in zip((tens, ones, attn), expected):
        assert torch.equal(a, b)


def test_checkpoint_round_trip(model: JerseyNet, tmp_path: Path) -> None:
    path = _save(tmp_path / "best.pt", model)
    assert [p.name for p in tmp_path.iterdir()] == ["best.pt"]  # no temp file left behind
    loaded = load_checkpoint(path)
    assert not loaded.model.training
    assert (loaded.model_cfg, loaded.preprocess, loaded.max_frames) == (CFG, PRE, T)
    assert loaded.extra == {"epoch": 3, "history": [{"acc": 0.5}]}
    frames, mask = _inputs()
    with torch.no_grad():
        for a, b in zip(model(frames, mask), loaded.model(frames, mask)):
            assert torch.equal(a, b)


def test_unpicklable_extra_is_refused_at_save(model: JerseyNet, tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="extra"):
        _save(tmp_path / "x.pt", model, extra={"path": Path("/tmp")})
    assert not list(tmp_path.iterdir())


def test_missing_file(tmp_path: Path) -> None:
    _refused(tmp_path / "nope.pt", "no such checkpoint")


def test_corrupt_and_truncated_files(model: JerseyNet, tmp_path: Path) -> None:
    good = _save(tmp_path / "good.pt", model).read_bytes()
    (tmp_path / "noise.pt").write_bytes(b"not a checkpoint at all" * 100)
    (tmp_path / "cut.pt").write_bytes(good[: len(good) // 2])
    _refused(tmp_path / "noise.pt", "corrupt, truncated")
    _refused(tmp_path / "cut.pt", "corrupt, truncated")


def test_foreign_files_are_refused(model: JerseyNet, tmp_path: Path) -> None:
    torch.save(model.state_dict(), tmp_path / "bare.pt")
    _refused(tmp_path / "bare.pt", "not a jersey-edge checkpoint")
    torch.save({"format": "jersey-edge-checkpoint", "x": PRE}, tmp_path / "pickle.pt")
    _refused(tmp_path / "pickle.pt", "corrupt, truncated")


def test_other_architecture_is_refused(model: JerseyNet, tmp_path: Path) -> None:
    state = model.state_dict()
    dropped = {k: v for k, v in state.items() if not k.startswith("head.tens.")}
    _refused(_save(tmp_path / "a.pt", model, model_state=dropped), "another architecture.*missing")
    wider = dataclasses.replace(CFG, hidden=24)
    _refused(_save(tmp_path / "b.pt", model, model_cfg=wider), "shape mismatch")
    foreign = dataclasses.replace(CFG, backbone="resnet18")
    _refused(_save(tmp_path / "c.pt", model, model_cfg=foreign), "unknown backbone")


def test_training_record_reads_seed_and_dataset_from_the_checkpoint(tmp_path):
    record = TrainingRecord.from_extra({"train_config": {"seed": 3, "epochs": 2},
                                        "data_root": str(tmp_path)})
    assert record == TrainingRecord(seed=3, data_root=tmp_path)
    assert TrainingRecord.from_extra({}) == TrainingRecord(seed=0, data_root=None)
    with pytest.raises(CheckpointError, match="seed '3'"):
        TrainingRecord.from_extra({"train_config": {"seed": "3"}})


def test_a_corrupt_checkpoints_error_is_one_short_line(model: JerseyNet, tmp_path: Path) -> None:
    """PyTorch's weights_only refusal runs to paragraphs: the line names only what to do."""
    torch.save({"format": "jersey-edge-checkpoint", "x": PRE}, tmp_path / "pickle.pt")
    with pytest.raises(CheckpointError) as caught:
        load_checkpoint(tmp_path / "pickle.pt")
    message = str(caught.value)
    assert "\n" not in message and len(message) - len(str(tmp_path)) < 150, message
    assert message.endswith("copy it again or retrain")


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
