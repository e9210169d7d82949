"""Motion magnification (Eq. 33-35): f_t + gamma * normalised (f_t - f_{t-1}), gamma learnable.

The difference of each frame's whole map (h, w, d) is divided by its root-mean-square plus
epsilon (Eq. 34 with ||.||_2 / sqrt(h w d), i.e. the unit-norm direction rescaled so that one
element is O(1) like the features); differences much smaller than epsilon (static scenes, noise)
stay small instead of being blown up. The first frame has no predecessor and is left unchanged.

Per-channel gamma (our variant: ``dim`` set, ``MSSTANConfig.motion_gamma: channel``): one gamma
per feature channel instead of one scalar. The normalised difference is O(1) in every channel
whatever moved, so a scalar gamma adds the arc's frame-to-frame flicker to every channel, including those that carry a
static pattern (an undercut groove along the bead toe lies still for the whole window). With
a gamma per channel, started at ``gamma`` (0 = the block starts as the identity), each channel
learns how much motion it takes.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn


class MotionMagnification(nn.Module):
    """(B, T, h, w, d) -> (B, T, h, w, d).

    Args:
        gamma: initial amplification; eps: epsilon of Eq. 34;
        dim: d for one gamma per channel, None for the scalar gamma of Eq. 33.
    """

    def __init__(self, gamma: float = 0.5, eps: float = 1e-2, dim: int | None = None) -> None:
        super().__init__()
        self.gamma = nn.Parameter(torch.full((dim,) if dim is not None else (), float(gamma)))  # () or (d,)
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
