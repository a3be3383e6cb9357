"""Data-parallel training under ``torchrun``: the process group, the shard of each batch, and DDP.

``gansynth-zoo train`` joins a process group when ``torchrun`` started it (``WORLD_SIZE`` in the
environment): gloo on the CPU, NCCL on CUDA, where each process takes the GPU of its
``LOCAL_RANK``. Every process builds the same data and models from the seed, and each step:

- the batch and the latents are drawn for the whole batch (``train.batch_size`` examples) from
  generators that every rank holds in the same state, and each rank keeps its contiguous
  ``1 / world_size`` of the rows (:meth:`Ranks.rows`), so the examples and latents a run trains on do
  not depend on the number of processes;
- every other random draw (DiffAugment, the gradient penalty's mixing, condition dropout, dropout
  masks, the psychoacoustic noise) comes from streams seeded from ``(seed, step, rank)``
  (:func:`step_seed`), so ranks draw differently and a resumed run draws what it drew before;
- each loss is one call of a :class:`LossModule` wrapped in ``DistributedDataParallel``, which
  averages the gradients over the ranks: for losses that are means over examples, the update of
  the whole batch.

What differs from one process at the same batch: batch statistics are taken over each rank's
share, in BatchNorm (not converted to SyncBatchNorm, which PyTorch has for CUDA only, so that the
CPU and GPU runs of a config train the same model), in the minibatch-std groups and in the batch
moments of ``band_matching`` and ``level_matching``. Rank 0 alone writes the run folder.
docs/distributed.md has the commands and measured figures.
"""
from __future__ import annotations

import gc
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from audiofeat.exceptions import ConfigError

__all__ = ["SINGLE", "LossModule", "Ranks", "check_batch", "join", "leave", "step_seed"]


@dataclass(frozen=True)
class Ranks:
    """This process's place in the process group (one process: rank 0 of 1, no group).

    Attributes:
        rank: index of this process among all of them.
        world_size: number of processes.
        backend: ``"gloo"``, ``"nccl"``, or ``"none"`` without a process group.
    """

    rank: int = 0
    world_size: int = 1
    backend: str = "none"

    @property
    def main(self) -> bool:
        """Whether this process writes the run folder and prints."""
        return self.rank == 0

    @property
    def grouped(self) -> bool:
        return self.backend != "none"

    def rows(self, total: int) -> slice:
        """This rank's contiguous share of ``total`` rows (``total`` divisible by the world size)."""
        share = total // self.world_size
        return slice(self.rank * share, (self.rank + 1) * share)

    def broadcast(self, obj: Any) -> Any:
        """Rank 0's ``obj`` on every rank (a picklable object)."""
        if not self.grouped:
            return obj
        box = [obj]
        dist.broadcast_object_list(box, src=0)
        return box[0]

    def barrier(self) -> None:
        """Waits for every rank (before the group is left: gloo aborts a process whose peer is still
        sending when it leaves)."""
        if self.grouped:
            dist.barrier()

    def mean(self, values: torch.Tensor) -> torch.Tensor:
        """The mean of ``values`` over the ranks (every rank gets it)."""
        if not self.grouped:
            return values
        values = values.clone()
        dist.all_reduce(values)
        return values / self.world_size

    def wrap(self, module: nn.Module, device: torch.device) -> nn.Module:
        """``module`` in ``DistributedDataParallel`` when grouped (else unchanged). Parameters that a
        step does not use (an auxiliary head at weight 0, blocks that progressive growing has not
        reached yet) are allowed."""
        if not self.grouped:
            return module
        return DistributedDataParallel(module, device_ids=[device.index] if device.type == "cuda" else None,
                                       find_unused_parameters=True)


#: One process, no process group.
SINGLE = Ranks()


def step_seed(seed: int, step: int, rank: int, stream: int = 0) -> int:
    """The seed of one of a rank's own random streams (``stream`` 0 or 1) at ``step``: distinct for
    every ``(seed, step, rank, stream)`` below 2**20 ranks, and a function of the step alone, so a
    resumed run reseeds them as it did."""
    return ((((seed * 1_000_003 + step) << 20) + rank) << 1) + stream


def join(device: torch.device, timeout_s: float) -> tuple[Ranks, torch.device]:
    """Joins the process group that ``torchrun`` set up, if it did (``WORLD_SIZE`` in the
    environment); returns this process's :class:`Ranks` and its device (on CUDA the GPU of its
    ``LOCAL_RANK``). Without ``torchrun``: ``Ranks()`` and ``device`` unchanged.

    ``timeout_s`` bounds how long a collective waits for a rank that stopped; ``torchrun`` itself
    stops the other ranks as soon as one exits with an error.
    """
    if "WORLD_SIZE" not in os.environ:
        return SINGLE, device
    if device.type == "cuda":
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))
        torch.cuda.set_device(device)
        backend = "nccl"
    else:
        backend = "gloo"
    dist.init_process_group(backend, timeout=timedelta(seconds=timeout_s),
                            device_id=device if device.type == "cuda" else None)
    return Ranks(dist.get_rank(), dist.get_world_size(), backend), device


def leave() -> None:
    """Leaves the process group, if this process joined one.

    A finished trainer and its DDP modules form a reference cycle (each loss module holds a bound
    method of the trainer); they are collected first, so that no DDP reducer outlives the group it
    talks through (gloo then aborts the process at exit)."""
    if dist.is_initialized():
        gc.collect()
        dist.destroy_process_group()


def check_batch(batch_size: int, ranks: Ranks) -> int:
    """The examples per rank of a batch of ``batch_size``.

    Raises:
        ConfigError: ``batch_size`` is not a multiple of the world size.
    """
    if batch_size % ranks.world_size:
        raise ConfigError(f"train.batch_size = {batch_size} is the whole batch, split over the "
                          f"{ranks.world_size} processes, so it must be a multiple of {ranks.world_size}")
    return batch_size // ranks.world_size


class LossModule(nn.Module):
    """``losses(*inputs)`` as the forward of a module that owns ``models``.

    ``DistributedDataParallel`` expects one forward per backward; a GAN step calls its critic two or
    three times (real, generated, the gradient penalty's mixtures) and the generator twice (mode
    seeking). Wrapping the whole loss makes each step one forward of a module holding those models,
    and one process runs the same code without the wrapper.
    """

    def __init__(self, models: Sequence[nn.Module], losses: Callable[..., dict[str, torch.Tensor]]):
        super().__init__()
        self.models = nn.ModuleList(models)
        self.losses = losses

    def forward(self, *inputs: Any) -> dict[str, torch.Tensor]:
        return self.losses(*inputs)
