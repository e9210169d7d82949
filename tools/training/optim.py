"""Optimiser and learning-rate schedule.

AdamW with decoupled weight decay applied to weight matrices/kernels only (biases, norm scales,
embeddings of size 1-D are not decayed, as in nanoGPT/timm), and a per-step schedule: linear
warm-up from 0 to the base rate, then a cosine decay to ``min_lr_ratio`` times the base rate.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from weldfusion.recipes.errors import InvalidInput


def param_groups(model: nn.Module, weight_decay: float) -> list[dict]:
    """Two AdamW groups: decayed (``ndim >= 2``) and not decayed (biases, norms, scalars)."""
    decay, no_decay = [], []
    for _, p in model.named_parameters():
        if not p.requires_grad:
            continue
        (decay if p.ndim >= 2 else no_decay).append(p)
    groups = [{"params": decay, "weight_decay": weight_decay}]
    if no_decay:
        groups.append({"params": no_decay, "weight_decay": 0.0})
    return groups


def build_optimizer(model: nn.Module, lr: float, weight_decay: float, betas: tuple[float, float] = (0.9, 0.999),
                    eps: float = 1e-8) -> torch.optim.AdamW:
    """AdamW over ``model``'s trainable parameters (see :func:`param_groups`)."""
    if lr <= 0:
        raise InvalidInput(f"learning rate must be > 0, got {lr}")
    if weight_decay < 0:
        raise InvalidInput(f"weight decay must be >= 0, got {weight_decay}")
    return torch.optim.AdamW(param_groups(model, weight_decay), lr=lr, betas=betas, eps=eps)


class WarmupCosine:
    """Multiplier of the base learning rate at optimiser step ``step`` (picklable, so it survives checkpoints).

    ``step < warmup``: ``(step + 1) / warmup``; afterwards a half cosine from 1 down to ``min_ratio``
    reached at ``total`` steps (and held after).
    """

    def __init__(self, warmup: int, total: int, min_ratio: float = 0.0) -> None:
        if total <= 0:
            raise InvalidInput(f"schedule needs total steps > 0, got {total}")
        if not 0 <= warmup <= total:
            raise InvalidInput(f"warm-up steps must be in [0, {total}], got {warmup}")
        if not 0.0 <= min_ratio <= 1.0:
            raise InvalidInput(f"min_lr_ratio must be in [0, 1], got {min_ratio}")
        self.warmup, self.total, self.min_ratio = warmup, total, min_ratio

    def __call__(self, step: int) -> float:
        if step < self.warmup:
            return (step + 1) / self.warmup
        span = max(1, self.total - self.warmup)
        progress = min(1.0, (step - self.warmup) / span)
        return self.min_ratio + (1.0 - self.min_ratio) * 0.5 * (1.0 + math.cos(math.pi * progress))


def build_scheduler(optimizer: torch.optim.Optimizer, warmup_steps: int, total_steps: int,
                    min_lr_ratio: float = 0.0) -> torch.optim.lr_scheduler.LambdaLR:
    """Per-step LambdaLR with :class:`WarmupCosine`; call ``scheduler.step()`` after every optimiser step."""
    return torch.optim.lr_scheduler.LambdaLR(optimizer, WarmupCosine(warmup_steps, total_steps, min_lr_ratio))
