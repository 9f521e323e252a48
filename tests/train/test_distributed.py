"""Training under torchrun, for real: two CPU processes (gloo) against one.

Two launches, each `python -m torch.distributed.run --standalone --nproc_per_node 2` (a free
port picked by torchrun) of this module as the worker (see `_worker` at the bottom), which
records what each rank holds and which files it replaced (every atomic write ends in
os.replace), then runs either
- the command line itself (`python -m jersey_edge train ...`: demo preset, real model,
  trunk cache, BatchNorm training as it does), or
- the library on the tiny model with online synthesis, in a process group the worker starts
  itself (after checking DistContext's collectives in it), against a one-process run with
  the same global batch. BatchNorm normalises with fixed statistics in both runs there:
  PyTorch has no CPU SyncBatchNorm, so with batch statistics each rank would rightly
  normalise its own half of the batch (on CUDA, SyncBatchNorm makes them the global
  batch's). Dropout is off and frame drop 0 for the same reason: randomness and per-rank
  frame counts would differ.
"""

import contextlib
import json
import os
import runpy
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Dict, Iterator, List

import pytest
import torch
from timm.layers import convert_sync_batchnorm
from torch import nn

from jersey_edge.core.digits import Accuracy
from jersey_edge.core.errors import InputError
from jersey_edge.data.dataset import EpochShuffle, SequenceDataset
from jersey_edge.data.discovery import discover
from jersey_edge.data.online import OnlineSynthDataset
from jersey_edge.data.synth.config import SynthConfig
from jersey_edge.model.encoder import FrameEncoder
from jersey_edge.model.net import build_model, load_checkpoint
from jersey_edge.train import loop
from jersey_edge.train.config import preset
from jersey_edge.train.distributed import DistContext, ShardedEpochShuffle, distributed_context
from jersey_edge.train.losses import FrameDigitHead

from .conftest import TINY_MODEL, TINY_PREPROCESS

REPO = Path(__file__).resolve().parents[2]
CPU = torch.device("cpu")
RUN_FILES = ("best.pt", "last.pt", "history.json", "curves.png", "splits.json")
# 6 online sequences an epoch, global batch 6: one step an epoch, 3 sequences a rank. The first
# epoch is all warm-up, so a 1-epoch run's step is a 2-epoch run's first.
LIBRARY_CONFIG = replace(preset("demo"), epochs=2, batch_size=6, max_frames=4, train_frames=4,
                         warmup_epochs=1, workers=0, amp=False, frame_drop=0.0,
                         cache_trunk=False, online_synth=True, online_sequences=6)
NO_DROPOUT = replace(TINY_MODEL, dropout=0.0)


# --- without processes ---------------------------------------------------------------------

def test_without_torchrun_training_is_one_process_and_the_helpers_do_nothing(monkeypatch):
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    with distributed_context(CPU) as context:
        assert not torch.distributed.is_initialized()
    assert (context.rank, context.world_size, context.is_main) == (0, 1, True)
    module, loss = nn.Linear(2, 2), torch.tensor(1.5)
    assert context.wrap(module) is module and context.summed(loss) is loss
    assert context.all_sum([3, 0.5]) == [3, 0.5] and context.local_batch(5) == 5


def test_the_global_batch_must_divide_over_the_processes():
    context = DistContext(rank=1, world_size=3, local_rank=1, device=CPU)
    assert context.local_batch(6) == 2
    with pytest.raises(InputError, match="batch size 4 is the global batch.*multiple of 3"):
        context.local_batch(4)


def shards(dataset, world_size: int, seed: int = 3) -> List[List[int]]:
    return [list(ShardedEpochShuffle(dataset, seed=seed, rank=rank, world_size=world_size))
            for rank in range(world_size)]


@pytest.mark.parametrize("kind", ["folder", "online"])
def test_shards_are_disjoint_and_deal_the_single_process_batches(tiny_dataset, kind):
    if kind == "folder":
        dataset = SequenceDataset(discover(tiny_dataset).records, preprocess=TINY_PREPROCESS,
                                  train=True)
    else:
        dataset = OnlineSynthDataset([4, 7, 48], size=12, synth=SynthConfig(),
                                     preprocess=TINY_PREPROCESS, max_frames=4)
    assert len(dataset) % 2 == 0 and len(dataset) % 3 == 0
    single = list(EpochShuffle(dataset, 3))
    assert shards(dataset, 1) == [single]
    two = shards(dataset, 2)
    assert sorted(two[0] + two[1]) == list(range(len(dataset)))  # disjoint, all covered
    per_rank = 2  # global batch 4: the ranks' k-th batches together are batch k
    for k in range(len(dataset) // 4):
        dealt = {i for shard in two for i in shard[k * per_rank:(k + 1) * per_rank]}
        assert dealt == set(single[4 * k:4 * (k + 1)])
    assert shards(dataset, 2) == two  # deterministic per seed and epoch
    dataset.set_epoch(1)
    assert shards(dataset, 2) != two and sorted(sum(shards(dataset, 2), [])) == sorted(single)


def test_uneven_shards_are_padded_to_the_same_number_of_steps(tiny_dataset):
    dataset = SequenceDataset(discover(tiny_dataset).records[:7], preprocess=TINY_PREPROCESS)
    dealt = shards(dataset, 3)
    assert [len(s) for s in dealt] == [3, 3, 3]
    assert set(sum(dealt, [])) == set(range(7))  # two items repeated, none left out


def test_sync_batchnorm_keeps_the_checkpoint_layout():
    """On CUDA the model trains with SyncBatchNorm; its state must still load as the plain
    model's (checkpoints, export, resume at any world size)."""
    plain = build_model(TINY_MODEL)
    synced = convert_sync_batchnorm(build_model(TINY_MODEL))
    assert any(isinstance(m, nn.SyncBatchNorm) for m in synced.modules())
    assert list(synced.state_dict()) == list(plain.state_dict())
    assert ([p.requires_grad for p in synced.parameters()]
            == [p.requires_grad for p in plain.parameters()])  # the trunk stays frozen
    plain.load_state_dict(synced.state_dict())


# --- two processes -------------------------------------------------------------------------

def launch(mode: str, out: Path, *args: str) -> subprocess.CompletedProcess:
    out.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone",
               "--nproc_per_node", "2", "-m", "tests.train.test_distributed", mode, str(out),
               *args]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=180,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert done.returncode == 0, done.stderr[-3000:]
    return done


@contextlib.contextmanager
def fixed_batchnorm() -> Iterator[None]:
    """BatchNorm normalises with its running statistics in training too (see the module
    docstring)."""
    real_train = FrameEncoder.train

    def train(self: FrameEncoder, mode: bool = True) -> FrameEncoder:
        real_train(self, mode)
        for module in self.modules():
            if isinstance(module, nn.modules.batchnorm._BatchNorm):
                module.eval()
        return self

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(FrameEncoder, "train", train)
        yield


def library_run(data: Path, save_dir: Path, **kwargs) -> loop.TrainResult:
    return loop.train(data, save_dir, config=LIBRARY_CONFIG, model_config=NO_DROPOUT,
                      preprocess=TINY_PREPROCESS, device="cpu", progress=False, **kwargs)


@pytest.fixture(scope="module")
def cli_launch(tiny_dataset, tmp_path_factory):
    out = tmp_path_factory.mktemp("cli_launch")
    done = launch("cli", out, "train", "--data-root", str(tiny_dataset), "--save-dir",
                  str(out / "run"), "--epochs", "1", "--batch-size", "4", "--workers", "0",
                  "--device", "cpu")
    return out, done


@pytest.fixture(scope="module")
def library_launch(tiny_dataset, tmp_path_factory):
    """Two ranks for 1 epoch; one process for 2 (last.pt kept after each epoch)."""
    out = tmp_path_factory.mktemp("library_launch")
    launch("library", out, str(tiny_dataset), str(out / "run"))
    single, epochs = out / "single", []
    with fixed_batchnorm():
        library_run(tiny_dataset, single, on_epoch=lambda line: epochs.append(
            load_checkpoint(single / "last.pt").extra))
    return out, epochs


def rank_state(out: Path, rank: int) -> Dict[str, Dict[str, torch.Tensor]]:
    return torch.load(out / f"rank{rank}.pt", weights_only=True)


def trained(extra: dict) -> Dict[str, torch.Tensor]:
    """The trainable parameters of a last.pt by name (frame head ones as frame_head.*)."""
    heads = {f"frame_head.{name}": t for name, t in extra["frame_head_state"].items()}
    return {**extra["model_state"], **heads}


def first_moments(extra: dict) -> Dict[str, torch.Tensor]:
    """AdamW's exp_avg of every trainable parameter of a last.pt, by name; after the first
    step it is (1 - beta1) * gradient."""
    model, head = build_model(NO_DROPOUT), FrameDigitHead(NO_DROPOUT)
    names = {id(p): name for name, p in model.named_parameters()}
    names.update({id(p): f"frame_head.{name}" for name, p in head.named_parameters()})
    ordered = [names[id(p)] for group in loop._param_groups(model, head, LIBRARY_CONFIG)
               for p in group["params"]]
    return {name: extra["optimizer"]["state"][i]["exp_avg"] for i, name in enumerate(ordered)}


def largest_gap(a: Dict[str, torch.Tensor], b: Dict[str, torch.Tensor]) -> float:
    assert list(a) == list(b)
    return max(float((a[k].double() - b[k].double()).abs().max()) for k in a)


@pytest.mark.slow
@pytest.mark.parametrize("which", ["cli_launch", "library_launch"])
def test_both_ranks_hold_identical_weights_and_ema(which, request):
    """In the CLI run BatchNorm trains on each rank's own half of the batch: the buffers, and
    so the EMA, are identical because rank 0's are broadcast after every step."""
    out = request.getfixturevalue(which)[0]
    first, second = rank_state(out, 0), rank_state(out, 1)
    for part in ("step", "ema"):
        assert list(first[part]) == list(second[part])
        different = [k for k in first[part] if not torch.equal(first[part][k], second[part][k])]
        assert different == [], part
    if which == "cli_launch":  # batch statistics were used: 2 steps, 2 training forwards
        assert int(first["step"]["model.encoder.backbone.bn2.num_batches_tracked"]) == 2


@pytest.mark.slow
def test_two_ranks_step_as_one_process_with_the_same_global_batch(library_launch):
    """One optimizer step of global batch 6 (3 sequences a rank). The gradients agree to
    rounding. So do the weights wherever the gradient is not rounding noise itself: AdamW's
    first step is lr * g / (|g| + 1e-8), so where |g| is ~1e-9 (the attention logits' bias,
    which softmax ignores; dead units of this untrained model) rounding alone sets a step of
    up to lr, in one process as in two."""
    out, single_epochs = library_launch
    two, one = load_checkpoint(out / "run" / "last.pt").extra, single_epochs[0]
    assert two["scheduler"]["last_epoch"] == one["scheduler"]["last_epoch"] == 1
    beta1 = one["optimizer"]["param_groups"][0]["betas"][0]
    gradient = {k: m / (1 - beta1) for k, m in first_moments(one).items()}
    assert largest_gap(first_moments(two), first_moments(one)) / (1 - beta1) < 1e-6
    clear = {k: g.abs() >= 1e-6 for k, g in gradient.items()}
    assert sum(int(c.sum()) for c in clear.values()) > 0.5 * sum(c.numel() for c in clear.values())
    a, b = trained(two), trained(one)
    gap = max(float(torch.where(clear[k], (a[k] - b[k]).abs(), 0.0).max()) for k in clear)
    moved = largest_gap(trained(single_epochs[1]), b)
    assert gap < 1e-5 < moved  # the same step; the next one moves the weights
    row_two, row_one = two["history"][0], one["history"][0]
    for metric in ("val_number_acc", "val_tens_acc", "val_ones_acc"):
        assert row_two[metric] == row_one[metric], metric
    assert row_two["train_loss"] == pytest.approx(row_one["train_loss"], abs=1e-5)


@pytest.mark.slow
def test_a_two_rank_run_resumes_in_one_process(library_launch, tiny_dataset, tmp_path):
    """Two ranks for the first epoch, one for the second: the second step's gradient (hence
    the restored weights, optimizer state and epoch order) is the two-epoch run's."""
    out, single_epochs = library_launch
    run = shutil.copytree(out / "run", tmp_path / "run")
    with fixed_batchnorm():
        result = loop.train(tiny_dataset, run, config=preset("demo"), resume=True, epochs=2,
                            device="cpu", progress=False)
    assert result.epochs_run == 2
    resumed, straight = load_checkpoint(run / "last.pt").extra, single_epochs[1]
    assert resumed["scheduler"]["last_epoch"] == straight["scheduler"]["last_epoch"] == 2
    assert largest_gap(first_moments(resumed), first_moments(straight)) < 1e-5
    assert ([h["val_number_acc"] for h in resumed["history"]]
            == [h["val_number_acc"] for h in straight["history"]])


@pytest.mark.slow
@pytest.mark.parametrize("which", ["cli_launch", "library_launch"])
def test_only_rank_zero_writes_and_reports(which, request):
    out = request.getfixturevalue(which)[0]
    run = str(out / "run")
    written = [[p for p in json.loads((out / f"rank{r}.json").read_text())
                if p.startswith(run)] for r in (0, 1)]
    assert written[1] == []
    assert {Path(p).name for p in written[0]} == set(RUN_FILES)
    assert sorted(p.name for p in (out / "run").iterdir()) == sorted(RUN_FILES)


@pytest.mark.slow
def test_the_collectives_combine_both_ranks(library_launch):
    """Rank r held n = 4 + r validation sequences, r + 1 numbers right, 2 + r tens and 3
    ones; rank 1 alone had a NaN loss; their buffers differed (see `_collectives`)."""
    out = library_launch[0]
    seen = [json.loads((out / f"collectives{rank}.json").read_text()) for rank in (0, 1)]
    assert seen[0] == seen[1]
    assert seen[0] == {"accuracy": [3 / 9, 5 / 9, 6 / 9, 9], "sums": [4.5, 1.0],
                       "loss_finite": False, "running_mean": [1.0, 1.0], "tracked": 5}


@pytest.mark.slow
def test_the_command_line_reports_once(cli_launch):
    out, done = cli_launch
    lines = done.stdout.splitlines()
    assert [line.split()[:2] for line in lines if line.startswith("epoch")] == [["epoch", "1/1"]]
    assert len([line for line in lines if line.startswith("best val number accuracy")]) == 1
    best = load_checkpoint(out / "run" / "best.pt")
    assert best.extra["train_config"]["batch_size"] == 4  # the global batch is the recipe's


# --- the worker torchrun starts ------------------------------------------------------------

@contextlib.contextmanager
def recorded(out: Path) -> Iterator[None]:
    """Saves what this rank trained (TrainStep and EMA states) and every path it replaced
    into out/rank<RANK>.{pt,json}, however the run ends."""
    rank = int(os.environ["RANK"])
    steps, emas, written = [], [], []
    real_replace = os.replace

    class RecordedStep(loop.TrainStep):
        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            steps.append(self)

    class RecordedEma(loop.ModelEmaV3):
        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            emas.append(self)

    def replace_file(src, dst, *args, **kwargs):
        written.append(str(dst))
        return real_replace(src, dst, *args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(loop, "TrainStep", RecordedStep)
        patch.setattr(loop, "ModelEmaV3", RecordedEma)
        patch.setattr(os, "replace", replace_file)
        try:
            yield
        finally:
            torch.save({"step": steps[0].state_dict(), "ema": emas[0].module.state_dict()},
                       out / f"rank{rank}.pt")
            (out / f"rank{rank}.json").write_text(json.dumps(written))


def _collectives(context: DistContext, out: Path) -> None:
    """DistContext's collectives on values that differ by rank, into out/collectives<RANK>."""
    rank = context.rank
    n = 4 + rank
    reduced = context.all_accuracy(Accuracy((rank + 1) / n, (2 + rank) / n, 3 / n, n=n))
    norm = nn.BatchNorm1d(2)
    norm.running_mean.fill_(rank + 1)
    norm.num_batches_tracked.fill_(5 + rank)
    context.broadcast_buffers(norm)
    loss = torch.tensor(float("nan") if rank == 1 else 1.0)
    seen = {"accuracy": [reduced.number_acc, reduced.tens_acc, reduced.ones_acc, reduced.n],
            "sums": context.all_sum([1.5 * (rank + 1), rank]),
            "loss_finite": bool(torch.isfinite(context.summed(loss))),
            "running_mean": norm.running_mean.tolist(),
            "tracked": int(norm.num_batches_tracked)}
    (out / f"collectives{rank}.json").write_text(json.dumps(seen))


def _worker(argv: List[str]) -> None:
    """The CLI as torchrun runs it; or the library inside a process group this worker
    started itself (train() then uses that group and leaves it running)."""
    mode, out, *args = argv
    if mode == "cli":
        with recorded(Path(out)):
            sys.argv = ["jersey_edge", *args]
            runpy.run_module("jersey_edge", run_name="__main__")
        return
    data, save_dir = map(Path, args)
    with distributed_context(CPU) as context:
        _collectives(context, Path(out))
        with recorded(Path(out)), fixed_batchnorm():
            library_run(data, save_dir, epochs=1, on_epoch=print)
        assert torch.distributed.is_initialized()


if __name__ == "__main__":
    _worker(sys.argv[1:])
