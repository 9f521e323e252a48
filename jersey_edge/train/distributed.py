"""Training in several processes under torchrun: one per GPU, DistributedDataParallel.

`torchrun --nproc_per_node N -m jersey_edge train ...` starts the processes and sets
WORLD_SIZE, RANK and LOCAL_RANK; without them (or with WORLD_SIZE=1) training is the one
process it always was, with no process group. What the ranks split, and what stays the same:

- The recipe's batch is the global batch: each rank takes batch_size / world_size of it.
  ShardedEpochShuffle deals the single-process epoch order round robin, so the ranks' k-th
  batches together are exactly the single-process run's k-th batch: same steps per epoch,
  same schedule, and a checkpoint resumes at any world size.
- Gradients are averaged by DDP, so the parameters stay identical on every rank. Buffers
  (BatchNorm running statistics) are broadcast from rank 0 after every step, so the EMA,
  updated from both, is identical everywhere too and validates the same model.
- BatchNorm: SyncBatchNorm on CUDA, i.e. statistics over the global batch as in one
  process. PyTorch has no CPU SyncBatchNorm: on CPU (gloo) each rank normalises its own
  share of the batch.
- Validation: each rank evaluates its own disjoint share of the records; the correct counts
  are summed. Only rank 0 writes files and reports progress; the others log warnings only.
- Each rank draws its own dropout masks (seed_rank_rng), and a non-finite loss anywhere skips
  the step everywhere (a rank skipping its backward alone would hang the others).
"""

import contextlib
import logging
import math
import os
from dataclasses import dataclass
from typing import Iterator, List, Optional, Sequence, TypeVar

import numpy as np
import torch
import torch.distributed as dist
from timm.layers import convert_sync_batchnorm
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import Sampler

from ..core.digits import Accuracy
from ..core.errors import InputError
from ..data.dataset import EpochShuffle, SequenceDataset

T = TypeVar("T")


@dataclass(frozen=True)
class DistContext:
    """Where this process stands: rank of world_size, local_rank on its node, its device."""

    rank: int
    world_size: int
    local_rank: int
    device: torch.device

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        """Rank 0: the one process that writes files and reports progress."""
        return self.rank == 0

    def local_batch(self, global_batch: int) -> int:
        """This rank's share of the global batch; refused unless the ranks share it evenly
        (a batch rounded per rank would change the recipe)."""
        if global_batch % self.world_size:
            raise InputError(f"the batch size {global_batch} is the global batch and must "
                             f"divide evenly over the {self.world_size} processes: use a "
                             f"multiple of {self.world_size}")
        return global_batch // self.world_size

    def shard(self, items: Sequence[T]) -> List[T]:
        """Items rank, rank + world_size, ...: disjoint shares that cover `items`."""
        return list(items)[self.rank::self.world_size]

    def barrier(self) -> None:
        if self.distributed:
            dist.barrier()

    def all_sum(self, values: Sequence[float]) -> List[float]:
        """Each value summed over the ranks (float64: counts stay exact); as given in one
        process."""
        if not self.distributed:
            return list(values)
        summed = torch.tensor(values, dtype=torch.float64, device=self.device)
        dist.all_reduce(summed)
        return [float(v) for v in summed.tolist()]

    def summed(self, value: torch.Tensor) -> torch.Tensor:
        """`value` summed over the ranks: non-finite where any rank's is, so every rank takes
        the same skip decision (a rank skipping a backward alone would hang the others)."""
        if not self.distributed:
            return value
        summed = value.detach().clone()
        dist.all_reduce(summed)
        return summed

    def all_accuracy(self, local: Accuracy) -> Accuracy:
        """Accuracy over every rank's share: correct counts and n summed."""
        if not self.distributed:
            return local
        correct = [round(acc * local.n) for acc in
                   (local.number_acc, local.tens_acc, local.ones_acc)]
        number, tens, ones, n = self.all_sum(correct + [local.n])
        return Accuracy(number / n, tens / n, ones / n, n=int(n))

    def wrap(self, module: nn.Module) -> nn.Module:
        """The module to call in training: `module` itself in one process, else in DDP, with
        SyncBatchNorm on CUDA. The wrapped module's parameters and buffers stay those of
        `module`, so the optimizer, the EMA and checkpoints keep using the plain model."""
        if not self.distributed:
            return module
        if self.device.type == "cuda":
            return DistributedDataParallel(convert_sync_batchnorm(module),
                                           device_ids=[self.device])
        return DistributedDataParallel(module)

    def broadcast_buffers(self, module: nn.Module) -> None:
        """Rank 0's buffers into every rank's `module` (one broadcast per dtype). Each forward
        updates BatchNorm running statistics from the rank's own batch; without this the EMA
        would average different buffers on each rank."""
        if not self.distributed:
            return
        buffers = list(module.buffers())
        for dtype in dict.fromkeys(b.dtype for b in buffers):  # same order on every rank
            group = [b for b in buffers if b.dtype == dtype]
            flat = torch.cat([b.reshape(-1) for b in group])
            dist.broadcast(flat, src=0)
            offset = 0
            for b in group:
                b.copy_(flat[offset:offset + b.numel()].view_as(b))
                offset += b.numel()

    def seed_rank_rng(self, seed: int, epoch: int) -> None:
        """Give each rank its own torch random stream (dropout masks) from `epoch` on: with
        one seed everywhere, the j-th item of every rank's batch would drop the same units.
        One process keeps the stream it always had."""
        if self.distributed:
            state = np.random.SeedSequence([seed, epoch, self.rank]).generate_state(1)
            torch.manual_seed(int(state[0]))


@contextlib.contextmanager
def distributed_context(device: torch.device) -> Iterator[DistContext]:
    """The context torchrun's environment describes, its process group running (NCCL on
    CUDA, gloo on CPU); `device` cuda becomes cuda:LOCAL_RANK. One process without that
    environment. A group started here is destroyed on leaving; one the caller started
    already is used as it is and left to the caller."""
    context = _from_environment(device)
    started = context.distributed and not dist.is_initialized()
    if started:
        cuda = context.device.type == "cuda"
        dist.init_process_group("nccl" if cuda else "gloo",
                                device_id=context.device if cuda else None)
    if not context.is_main:  # a torchrun worker is a process of its own: rank 0 reports
        logging.getLogger("jersey_edge").setLevel(logging.WARNING)
    try:
        yield context
    finally:
        if started:
            dist.destroy_process_group()


def _from_environment(device: torch.device) -> DistContext:
    world_size = _env_int("WORLD_SIZE", 1)
    if world_size <= 1:
        return DistContext(rank=0, world_size=1, local_rank=0, device=device)
    rank, local_rank = _env_int("RANK", None), _env_int("LOCAL_RANK", None)
    if device.type == "cuda":
        if local_rank >= torch.cuda.device_count():
            raise InputError(f"LOCAL_RANK {local_rank}, but this node shows "
                             f"{torch.cuda.device_count()} CUDA GPU(s): start at most that "
                             "many processes per node (torchrun --nproc_per_node)")
        device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
    return DistContext(rank=rank, world_size=world_size, local_rank=local_rank, device=device)


def _env_int(name: str, default: Optional[int]) -> int:
    text = os.environ.get(name)
    if text is None:
        if default is None:
            raise InputError(f"WORLD_SIZE is set but {name} is not: start distributed "
                             "training with torchrun, which sets both")
        return default
    try:
        return int(text)
    except ValueError:
        raise InputError(f"environment variable {name} must be an integer, got "
                         f"{text!r}") from None


class ShardedEpochShuffle(Sampler):
    """This rank's share of EpochShuffle's order (seeded by seed and dataset.epoch, so
    set_epoch reshuffles): positions rank, rank + world_size, ... Dealt round robin, the
    ranks' k-th batches of b together are the single-process k-th batch of b * world_size.
    Padded as DistributedSampler pads, by repeating the order's head, so that every rank
    takes as many steps (a rank with one step fewer would leave the others waiting in DDP's
    all-reduce); the padding repeats at most world_size - 1 items an epoch."""

    def __init__(self, dataset: SequenceDataset, *, seed: int, rank: int,
                 world_size: int) -> None:
        self.order = EpochShuffle(dataset, seed)
        self.rank = rank
        self.world_size = world_size

    def __len__(self) -> int:
        return math.ceil(len(self.order) / self.world_size)

    def __iter__(self) -> Iterator[int]:
        order = list(self.order)
        total = len(self) * self.world_size
        while len(order) < total:
            order += order[:total - len(order)]
        return iter(order[self.rank::self.world_size])
