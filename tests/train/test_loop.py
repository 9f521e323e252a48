import json
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from jersey_edge.core.errors import CheckpointError, InputError
from jersey_edge.model.net import load_checkpoint
from jersey_edge.train.config import preset
from jersey_edge.train.loop import train

from .conftest import TINY_MODEL, TINY_PREPROCESS


def run(data, save_dir, config, **kwargs):
    return train(data, save_dir, config=config, model_config=TINY_MODEL,
                 preprocess=TINY_PREPROCESS, device="cpu", progress=False, **kwargs)


def test_training_writes_run_files(tiny_dataset, tmp_path, tiny_train_config, capsys):
    lines = []
    result = run(tiny_dataset, tmp_path, tiny_train_config, on_epoch=lines.append)
    assert result.epochs_run == 2
    assert [line.split()[:2] for line in lines] == [["epoch", "1/2"], ["epoch", "2/2"]]
    assert capsys.readouterr().out == ""  # the library prints nothing itself
    for name in ("best.pt", "last.pt", "history.json", "curves.png", "splits.json"):
        assert (tmp_path / name).stat().st_size > 0, name
    history = json.loads((tmp_path / "history.json").read_text())
    assert [h["epoch"] for h in history] == [0, 1]
    assert all(0.0 <= h["val_number_acc"] <= 1.0 for h in history)
    best = load_checkpoint(tmp_path / "best.pt")
    assert best.max_frames == 4 and best.preprocess == TINY_PREPROCESS
    assert best.extra["data_root"] == str(tiny_dataset.resolve())


KILLABLE_RUN = """
import sys
from dataclasses import replace
from tests.train.conftest import TINY_MODEL, TINY_PREPROCESS
from jersey_edge.train.config import preset
from jersey_edge.train.config import preset
from jersey_edge.train.loop import train
config = replace(preset("demo"), epochs=3, batch_size=4, max_frames=4, train_frames=4,
                 warmup_epochs=1, workers=0, amp=False)
train(sys.argv[1], sys.argv[2], config=config, model_config=TINY_MODEL,
      preprocess=TINY_PREPROCESS, device="cpu", progress=False)
"""


def test_sigkill_then_resume_loses_at_most_one_epoch(tiny_dataset, tmp_path):
    """Kill training mid-run; --resume continues from the last finished epoch, no gap/dupe."""
    proc = subprocess.Popen([sys.executable, "-c", KILLABLE_RUN, str(tiny_dataset), str(tmp_path)],
                            cwd=Path(__file__).parents[2], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    history_file = tmp_path / "history.json"
    deadline = time.monotonic() + 240
    while not history_file.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done = len(load_checkpoint(tmp_path / "last.pt").extra["history"])
    assert 1 <= done <= 3
    result = train(tiny_dataset, tmp_path, config=preset("demo"), resume=True, device="cpu",
                   progress=False)
    history = json.loads(history_file.read_text())
    assert [h["epoch"] for h in history] == [0, 1, 2]
    assert result.epochs_run == 3
    assert not list(tmp_path.glob(".*.tmp"))


def test_frozen_weights_are_untouched_by_training(tiny_dataset, tmp_path, tiny_train_config):
    from jersey_edge.model.net import build_model

    torch.manual_seed(tiny_train_config.seed)
    initial = build_model(TINY_MODEL).encoder
    run(tiny_dataset, tmp_path, tiny_train_config)
    trained = load_checkpoint(tmp_path / "best.pt").model.encoder
    stem = initial.backbone.conv_stem.weight
    assert torch.equal(trained.backbone.conv_stem.weight, stem)
    assert not torch.equal(trained.proj[0].weight, initial.proj[0].weight)


def test_resume_without_last_checkpoint(tiny_dataset, tmp_path, tiny_train_config):
    with pytest.raises(CheckpointError, match="cannot resume"):
        run(tiny_dataset, tmp_path, tiny_train_config, resume=True)


def test_ema_warms_up_over_a_short_run(tiny_dataset, tmp_path, tiny_train_config):
    """A fixed 0.999 decay would leave the EMA ~1% of the way from the initial weights after
    a few steps; with the warm-up it follows the recent raw weights."""
    from jersey_edge.model.net import build_model

    torch.manual_seed(tiny_train_config.seed)
    initial = build_model(TINY_MODEL).head.state_dict()
    run(tiny_dataset, tmp_path, replace(tiny_train_config, ema_decay=0.999))
    extra = load_checkpoint(tmp_path / "last.pt").extra
    raw, ema = extra["model_state"], extra["ema_state"]

    def moved(state):
        return sum(float((state[f"head.{k}"] - v).norm()) for k, v in initial.items()
                   if v.is_floating_point())

    assert moved(ema) > 0.5 * moved(raw) > 0


def test_training_on_online_sequences(tiny_dataset, tmp_path, tiny_train_config):
    config = replace(tiny_train_config, epochs=1, online_synth=True, online_sequences=8,
                     cache_trunk=False)
    result = run(tiny_dataset, tmp_path, config)
    assert result.epochs_run == 1
    assert load_checkpoint(tmp_path / "best.pt").extra["train_config"]["online_synth"] is True
    with pytest.raises(InputError, match="trunk cache"):
        run(tiny_dataset, tmp_path / "cached", replace(config, cache_trunk=True))
