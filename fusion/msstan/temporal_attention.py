"""Temporal attention over frames (Eq. 15, 16, 18)."""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn


class TemporalAttention(nn.Module):
    """alpha = softmax_T(Phi({f_t^att}) / sqrt(d) + bias) (Eq. 15, 18); the caller forms Eq. 16.

    Phi scores each frame in the context of the whole sequence: v . tanh(W f_t + U mean_t f_t).
    ``bias`` (B, T) adds log-priors: frame-sampling scores (Eq. 40) and visibility under the
    occlusion masks (Eq. 28). Off (``enabled=False``): softmax of the bias alone (mean if none).
    """

    def __init__(self, dim: int, enabled: bool = True) -> None:
        super().__init__()
        self.dim = dim
        if enabled:
            self.frame = nn.Linear(dim, dim)
            self.context = nn.Linear(dim, dim, bias=False)
            self.v = nn.Linear(dim, 1, bias=False)
        self.enabled = enabled

    def forward(self, f: Tensor, bias: Tensor | None = None) -> Tensor:
        """f: (B, T, d) spatially attended frames; bias: (B, T) or None -> alpha (B, T), sums to 1 over T."""
        logits = f.new_zeros(f.shape[:2])
        if self.enabled:
            ctx = self.context(f.mean(dim=1, keepdim=True))  # (B, 1, d)
            logits = self.v(torch.tanh(self.frame(f) + ctx)).squeeze(-1) / math.sqrt(self.dim)  # (B, T)
        if bias is not None:
            logits = logits + bias
        return torch.softmax(logits, dim=1)
