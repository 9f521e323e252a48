"""train(init=...): fine-tuning a checkpoint keeps its architecture, preprocessing and
weights as the starting point, and records where it started."""

from dataclasses import replace

import pytest
import torch

from jersey_edge.core.errors import InputError
from jersey_edge.model.net import load_checkpoint
from jersey_edge.train.loop import train

from .conftest import TINY_MODEL, TINY_PREPROCESS


@pytest.fixture(scope="module")
def first_run(tiny_dataset, tmp_path_factory):
    from jersey_edge.train.config import preset

    folder = tmp_path_factory.mktemp("first")
    config = replace(preset("demo"), epochs=1, batch_size=4, max_frames=4, train_frames=4,
                     warmup_epochs=1, workers=0, amp=False)
    train(tiny_dataset, folder, config=config, model_config=TINY_MODEL,
          preprocess=TINY_PREPROCESS, device="cpu", progress=False)
    return folder / "best.pt", config


def test_fine_tuning_starts_from_the_checkpoints_weights(first_run, tiny_dataset, tmp_path):
    checkpoint, config = first_run
    frozen_lr = replace(config, lr=0.0, weight_decay=0.0)
    train(tiny_dataset, tmp_path, config=frozen_lr, init=str(checkpoint), device="cpu",
          progress=False)
    start, tuned = load_checkpoint(checkpoint), load_checkpoint(tmp_path / "best.pt")
    assert tuned.model_cfg == start.model_cfg and tuned.preprocess == start.preprocess
    assert tuned.extra["init"] == str(checkpoint)
    assert tuned.extra["init_sha256"] == start.sha256
    before, after = start.model.state_dict(), tuned.model.state_dict()
    weights = [k for k, v in before.items() if k.endswith("weight") and v.ndim > 1]
    assert weights and all(torch.equal(before[k], after[k]) for k in weights)


def test_fine_tuning_refuses_a_second_architecture(first_run, tiny_dataset, tmp_path):
    checkpoint, config = first_run
    with pytest.raises(InputError, match="keeps that checkpoint's architecture"):
        train(tiny_dataset, tmp_path, config=config, init=str(checkpoint),
              model_config=TINY_MODEL, device="cpu", progress=False)


def test_imagenet_init_is_recorded(first_run):
    assert load_checkpoint(first_run[0]).extra["init"] == "imagenet"
