"""Data-parallel training across processes started by torchrun (PyTorch's own engine).

`torchrun --nproc-per-node N -m tastevec.server forge ...` sets RANK, WORLD_SIZE and
LOCAL_RANK; each process then takes its share of every batch and DistributedDataParallel
averages the gradients. gloo on the CPU, nccl on CUDA. A plain run is a world of one.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import torch
import torch.distributed as dist

from tastevec.common.device import default_device
from tastevec.common.errors import TastevecError


@dataclass(frozen=True, slots=True)
class Distributed:
    rank: int = 0
    world_size: int = 1
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))

    @property
    def active(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def barrier(self) -> None:
        if self.active:
            dist.barrier()

    def shard(self, batch_size: int) -> int:
        """This process's share of a global batch (the global batch must split evenly)."""
        if batch_size % self.world_size:
            raise TastevecError(
                f"batch size {batch_size} does not split evenly over {self.world_size} processes"
            )
        return batch_size // self.world_size


def start_distributed() -> Distributed:
    """Join the process group torchrun describes, or run alone when there is none."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size <= 1:
        return Distributed(device=default_device())
    rank = int(os.environ["RANK"])
    if torch.cuda.is_available():
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        torch.cuda.set_device(device)
        backend = "nccl"
    else:
        device, backend = torch.device("cpu"), "gloo"
    if not dist.is_initialized():
        dist.init_process_group(backend=backend)
    return Distributed(rank, world_size, device)


def stop_distributed(distributed: Distributed) -> None:
    if distributed.active and dist.is_initialized():
        dist.destroy_process_group()
