"""Adaptive frame sampling (Eq. 40-42).

a_t = Phi_sampling(f_t) in [0, 1] (Eq. 40) from the cheap patch-embedding features of each frame
(spatial mean, spatial max and the change of the mean from the previous frame). At inference the
k = round(keep_ratio * T) frames with the highest scores are kept, i.e. Eq. 41 with the threshold
tau set per window to the k-th highest score (a fixed budget keeps batches rectangular and the
saving predictable); only those frames go through the conv stages and everything after them.
Training uses the same budget (so it is as cheap, and train and test see k frames) but draws the
k frames at random with probabilities growing with a_t (Gumbel top-k on log a_t), so every frame
gets explored. log(a_t) of the kept frames biases the temporal attention: the scorer learns from
the task loss which frames matter. Eq. 42: smoothness sum_t (a_t - a_{t+1})^2.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn


class FrameSampler(nn.Module):
    """Frame importance scores and top-k selection over (B, T, h0, w0, c0) patch features."""

    def __init__(self, dim: int, keep_ratio: float) -> None:
        super().__init__()
        self.keep_ratio = keep_ratio
        self.score = nn.Sequential(nn.Linear(3 * dim, dim), nn.GELU(), nn.Linear(dim, 1))
        nn.init.constant_(self.score[-1].bias, 2.0)  # start near a = 0.88 for every frame

    def kept(self, frames: int) -> int:
        """Number of frames kept at inference out of ``frames``."""
        return max(1, min(frames, math.floor(self.keep_ratio * frames + 0.5)))

    def forward(self, s: Tensor) -> Tensor:
        """s: (B, T, h0, w0, c0) -> a (B, T) in (0, 1) (Eq. 40)."""
        mean = s.mean(dim=(2, 3))  # (B, T, c0)
        peak = s.amax(dim=(2, 3))  # (B, T, c0)
        change = torch.cat([torch.zeros_like(mean[:, :1]), (mean[:, 1:] - mean[:, :-1]).abs()], dim=1)
        return torch.sigmoid(self.score(torch.cat([mean, peak, change], dim=-1)).squeeze(-1))

    def select(self, a: Tensor, explore: bool = False) -> Tensor:
        """a: (B, T) -> indices (B, k) of the kept frames in time order (Eq. 41).

        ``explore``: Gumbel top-k on log a_t (sampling without replacement) instead of top-k.
        """
        key = torch.log(a.clamp_min(1e-6))
        if explore:
            u = torch.rand_like(a).clamp(1e-6, 1.0 - 1e-6)
            key = key - torch.log(-torch.log(u))
        idx = torch.topk(key, self.kept(a.shape[1]), dim=1).indices
        return torch.sort(idx, dim=1).values

    @staticmethod
    def smoothness(a: Tensor) -> Tensor:
        """Eq. 42 per sample: sum_t (a_t - a_{t+1})^2 -> (B,)."""
        return (a[:, 1:] - a[:, :-1]).pow(2).sum(dim=1)
