"""A NaN loss never reaches the weights: the step is skipped and counted, and a run of them
stops training with best.pt and last.pt left as the last finished epoch wrote them."""

import json
from dataclasses import replace

import pytest
import torch

from jersey_edge.model.net import load_checkpoint
from jersey_edge.train import loop
from jersey_edge.train.loop import TrainingError, train

from .conftest import TINY_MODEL, TINY_PREPROCESS

CHECKPOINTS = ("best.pt", "last.pt")


def all_finite(state: dict) -> bool:
    return all(bool(torch.isfinite(t).all()) for t in state.values() if t.is_floating_point())


def test_nonfinite_losses_are_skipped_then_stop_training(tiny_dataset, tmp_path,
                                                         tiny_train_config, monkeypatch):
    """6 training sequences, batch 2: 3 steps an epoch. Step 2 is poisoned (skipped, epoch 1
    finishes), then every step from 4 on: the third in a row (step 6) stops the run."""
    config = replace(tiny_train_config, epochs=2, batch_size=2)
    real_embed = loop.embed_batch
    steps = []
    saved_before_the_run_of_nans = {}

    def poisoned(model, batch, device):
        steps.append(len(steps) + 1)
        embeddings = real_embed(model, batch, device)
        if steps[-1] == 4:
            saved_before_the_run_of_nans.update(
                {name: (tmp_path / name).read_bytes() for name in CHECKPOINTS})
        return embeddings * float("nan") if steps[-1] == 2 or steps[-1] >= 4 else embeddings

    monkeypatch.setattr(loop, "embed_batch", poisoned)
    with pytest.raises(TrainingError, match="3 steps in a row"):
        train(tiny_dataset, tmp_path, config=config, model_config=TINY_MODEL,
              preprocess=TINY_PREPROCESS, device="cpu", progress=False)
    assert steps == [1, 2, 3, 4, 5, 6]
    history = json.loads((tmp_path / "history.json").read_text())
    assert len(history) == 1 and history[0]["skipped_steps"] == 1
    assert all(history[0][key] == history[0][key] for key in ("train_loss", "lr"))  # not NaN
    for name in CHECKPOINTS:
        assert (tmp_path / name).read_bytes() == saved_before_the_run_of_nans[name], name
        assert all_finite(load_checkpoint(tmp_path / name).raw["model_state"]), name
    last = load_checkpoint(tmp_path / "last.pt").extra
    assert all_finite(last["model_state"]) and all_finite(last["ema_state"])
