"""Data-parallel scale-out under ``torchrun`` (NCCL on GPUs, gloo on CPU).

Each rank samples its own prompts and trajectories; after every backward the gradients are
averaged across ranks (a flat all-reduce, the same arithmetic as DistributedDataParallel), so every
rank takes the same optimiser step and the weights stay identical; rank 0 writes files.

Why not wrap the model in ``DistributedDataParallel`` itself: DRaFT, AlignProp and DRTune call the
denoiser many times before one backward, and EasyTune runs forward-only calls between its
backwards; DDP's reducer assumes one forward per backward and fails on the first two.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass
class DistInfo:
    rank: int = 0
    world_size: int = 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1


def init_from_env(device: str) -> DistInfo:
    """Join the process group torchrun describes (WORLD_SIZE > 1), else a single-process DistInfo."""
    if dist.is_available() and dist.is_initialized():
        return DistInfo(dist.get_rank(), dist.get_world_size())
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistInfo()
    backend = "nccl" if device.startswith("cuda") else "gloo"
    dist.init_process_group(backend=backend)
    if device.startswith("cuda"):
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    return DistInfo(dist.get_rank(), dist.get_world_size())


def current() -> DistInfo:
    if dist.is_available() and dist.is_initialized():
        return DistInfo(dist.get_rank(), dist.get_world_size())
    return DistInfo()


def broadcast_parameters(params, info: DistInfo) -> None:
    """Copy rank 0's values into every rank (called once before training)."""
    if not info.enabled:
        return
    for p in params:
        dist.broadcast(p.data, src=0)


def average_gradients(params, info: DistInfo) -> None:
    """Average ``.grad`` of ``params`` over ranks with one flat all-reduce."""
    if not info.enabled:
        return
    grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in params]
    flat = torch.cat([g.reshape(-1).float() for g in grads])
    dist.all_reduce(flat, op=dist.ReduceOp.SUM)
    flat /= info.world_size
    offset = 0
    for p, g in zip(params, grads):
        n = g.numel()
        p.grad = flat[offset:offset + n].view_as(p).to(p.dtype)
        offset += n


def all_mean(value: float, info: DistInfo) -> float:
    """Mean of a scalar across ranks (for logging the global reward)."""
    if not info.enabled:
        return value
    t = torch.tensor([value], dtype=torch.float64)
    if dist.get_backend() == "nccl":
        t = t.cuda()
    dist.all_reduce(t, op=dist.ReduceOp.SUM)
    return float(t.item()) / info.world_size


def any_flag(flag: bool, info: DistInfo) -> bool:
    """True on every rank if it is True on any rank (agree on stopping together)."""
    if not info.enabled:
        return flag
    t = torch.tensor([1.0 if flag else 0.0])
    if dist.get_backend() == "nccl":
        t = t.cuda()
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return bool(t.item() > 0)
