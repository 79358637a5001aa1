"""The DDP process environment: rank and world size from ``torchrun``, the device, reductions."""

from __future__ import annotations

import os

import torch
import torch.distributed as dist

from fdif_core.devices import parse_device


def distributed_env() -> tuple[int, int, int]:
    """``(rank, world_size, local_rank)`` from the torchrun environment (0, 1, 0 without)."""
    return (int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1)),
            int(os.environ.get("LOCAL_RANK", 0)))


def resolve_device(name: str, local_rank: int = 0) -> torch.device:
    """``auto`` → ``cuda:LOCAL_RANK`` when CUDA is present, else CPU."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    device = parse_device(name)  # one-line errors naming the device as given
    if device.type == "cuda" and device.index is None:
        return torch.device(f"cuda:{local_rank}")
    return device


def reduce_sum(tensor: torch.Tensor, device: torch.device) -> torch.Tensor:
    """Sum a CPU tensor over all ranks (through the GPU for NCCL); returns a CPU tensor."""
    work = tensor.to(device) if device.type == "cuda" else tensor.clone()
    dist.all_reduce(work)
    return work.cpu()
