"""Occlusion-aware mask (Eq. 26-28).

m_t in [0, 1]^{h x w} multiplies the feature map (Eq. 26). Eq. 27 asks for a sparse mask so
that "only the truly occluded regions are suppressed": the L1 term is therefore taken on the
suppressed share (1 - m_t), the occlusion indicator; an L1 on m_t itself would push the mask to
suppress everything. Eq. 28: the temporal attention sees the masked features and, in addition,
a log-visibility bias log(mean_ij m_t,ij) so that heavily occluded frames weigh less.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


class OcclusionMask(nn.Module):
    """Per-position mask from the spatial features: (B, T, h, w, d) -> (B, T, h, w)."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        hidden = max(dim // 4, 1)
        self.net = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, 1))
        nn.init.constant_(self.net[-1].bias, 2.0)  # start mostly visible (m ~ 0.88)

    def forward(self, f: Tensor) -> Tensor:
        """f: (B, T, h, w, d) -> m (B, T, h, w) in [0, 1]."""
        return torch.sigmoid(self.net(f).squeeze(-1))

    @staticmethod
    def sparsity(mask: Tensor) -> Tensor:
        """Eq. 27 per sample: mean over (T, h, w) of |1 - m| -> (B,)."""
        return (1.0 - mask).abs().flatten(1).mean(dim=1)

    @staticmethod
    def visibility_bias(mask: Tensor) -> Tensor:
        """Eq. 28 prior for the temporal attention: log of the visible share of each frame -> (B, T)."""
        return torch.log(mask.flatten(2).mean(dim=2).clamp_min(1e-4))
