"""One process or many: set-up from ``torchrun``'s environment (RANK, WORLD_SIZE, LOCAL_RANK) when present.

NCCL on CUDA, gloo on the CPU; a plain ``samcl-train`` is a world of one and needs no process group.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

from samcl.device import resolve_device


@dataclass(frozen=True)
class World:
    """This process's place in the run."""

    rank: int = 0
    size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        """Only the main process writes files and prints."""
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.size > 1


def device_for(name: str, world: World) -> torch.device:
    """:func:`samcl.device.resolve_device`, with a bare ``cuda`` meaning GPU ``LOCAL_RANK`` under torchrun."""
    device = resolve_device(name)
    if device.type == "cuda":
        if device.index is None:
            device = torch.device("cuda", world.local_rank)
        torch.cuda.set_device(device)
    return device


def init_world(device_name: str) -> tuple[World, torch.device]:
    """Join the process group torchrun describes (if any) and pick this process's device."""
    size = int(os.environ.get("WORLD_SIZE", "1"))
    world = World(int(os.environ.get("RANK", "0")), size, int(os.environ.get("LOCAL_RANK", "0")))
    device = device_for(device_name, world)
    if world.distributed and not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    return world, device


def finish_world(world: World) -> None:
    if world.distributed and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


def broadcast_buffers(module: torch.nn.Module, world: World) -> None:
    """Copy process 0's buffers (e.g. batch-norm running statistics) to every process."""
    if world.distributed:
        for buffer in module.buffers():
            dist.broadcast(buffer, src=0)
