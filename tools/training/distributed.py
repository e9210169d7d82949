"""DistributedDataParallel helpers for runs launched by ``torchrun`` (or plain single-process runs).

``torchrun --nproc_per_node N -m weldfusion.tools.train ...`` sets ``RANK``, ``WORLD_SIZE`` and
``LOCAL_RANK``; :func:`init` joins the process group with ``gloo`` on CPU and ``nccl`` on CUDA.
Without those variables everything degrades to one process (rank 0 of 1) and no process group.
Only rank 0 writes files (:attr:`Dist.is_main`); metrics are computed from predictions gathered
from every rank (:meth:`Dist.gather`) so all ranks take the same early-stopping decision.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta

import numpy as np
import torch
import torch.distributed as dist
from weldfusion.recipes.errors import InvalidInput


@dataclass(frozen=True)
class Dist:
    """Where this process sits in the job."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: torch.device = torch.device("cpu")

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def barrier(self) -> None:
        if self.enabled:
            dist.barrier()

    def all_reduce_sum(self, values: list[float]) -> list[float]:
        """Element-wise sum of a list of floats over all ranks (float64)."""
        if not self.enabled:
            return [float(v) for v in values]
        t = torch.tensor(values, dtype=torch.float64, device=self._comm_device())
        dist.all_reduce(t, op=dist.ReduceOp.SUM)
        return t.cpu().tolist()

    def gather(self, arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Concatenate each rank's arrays along axis 0 in rank order (identical result on every rank)."""
        if not self.enabled:
            return arrays
        parts: list[dict[str, np.ndarray] | None] = [None] * self.world_size
        dist.all_gather_object(parts, arrays)
        return {k: np.concatenate([p[k] for p in parts], axis=0) for k in arrays}

    def gather_objects(self, obj) -> list:
        """``[obj of rank 0, obj of rank 1, ...]`` on every rank (picklable objects)."""
        if not self.enabled:
            return [obj]
        parts: list = [None] * self.world_size
        dist.all_gather_object(parts, obj)
        return parts

    def broadcast_object(self, obj):
        """``obj`` from rank 0 on every rank."""
        if not self.enabled:
            return obj
        box = [obj]
        dist.broadcast_object_list(box, src=0)
        return box[0]

    def _comm_device(self) -> torch.device:
        return self.device if dist.get_backend() == "nccl" else torch.device("cpu")


def env_world() -> tuple[int, int, int]:
    """(rank, world_size, local_rank) from the torchrun environment, (0, 1, 0) without it."""
    return int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1)), int(os.environ.get("LOCAL_RANK", 0))


def resolve_device(name: str) -> torch.device:
    """``cpu``, ``cuda`` or ``auto`` (cuda when available) -> device; ``ValueError`` for an unusable choice."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name not in ("cpu", "cuda"):
        raise InvalidInput(f"device must be cpu, cuda or auto, got {name!r}")
    if name == "cuda" and not torch.cuda.is_available():
        raise InvalidInput("device cuda requested but torch sees no CUDA GPU")
    return torch.device(name)


def init(device: str = "auto", timeout_s: float = 600.0) -> Dist:
    """Join the torchrun process group if there is one; pick this rank's device.

    On CUDA each rank uses ``cuda:LOCAL_RANK`` and the ``nccl`` backend; on CPU the ``gloo`` backend.
    """
    rank, world, local = env_world()
    dev = resolve_device(device)
    if dev.type == "cuda":
        dev = torch.device("cuda", local)
        torch.cuda.set_device(dev)
    if world > 1 and not dist.is_initialized():
        backend = "nccl" if dev.type == "cuda" else "gloo"
        dist.init_process_group(backend=backend, rank=rank, world_size=world, timeout=timedelta(seconds=timeout_s))
    return Dist(rank=rank, world_size=world, local_rank=local, device=dev)


def shutdown(ctx: Dist) -> None:
    """Leave the process group (no-op for a single process)."""
    if ctx.enabled and dist.is_initialized():
        dist.destroy_process_group()
