"""Motion magnification (Eq. 33-35): f_t + gamma * normalised (f_t - f_{t-1}), gamma learnable.

The difference of each frame's whole map (h, w, d) is divided by its root-mean-square plus
epsilon (Eq. 34 with ||.||_2 / sqrt(h w d), i.e. the unit-norm direction rescaled so that one
element is O(1) like the features); differences much smaller than epsilon (static scenes, noise)
stay small instead of being blown up. The first frame has no predecessor and is left unchanged.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn


class MotionMagnification(nn.Module):
    """(B, T, h, w, d) -> (B, T, h, w, d)."""

    def __init__(self, gamma: float = 0.5, eps: float = 1e-2) -> None:
        super().__init__()
        self.gamma = nn.Parameter(torch.tensor(float(gamma)))
        self.eps = eps

    def forward(self, f: Tensor) -> Tensor:
        """f: (B, T, h, w, d) -> magnified features (Eq. 35)."""
        if f.shape[1] < 2:
            return f
        diff = f[:, 1:] - f[:, :-1]  # (B, T-1, h, w, d)
        rms = (diff.pow(2).flatten(2).mean(dim=2) + 1e-12).sqrt()  # (B, T-1); finite gradient for static frames
        delta = diff / (rms + self.eps)[:, :, None, None, None]  # Eq. 34
        delta = F.pad(delta, (0, 0, 0, 0, 0, 0, 1, 0))  # (B, T, h, w, d), zero for t = 1
        return f + self.gamma * delta  # Eq. 35
