"""Spatial attention per frame (Eq. 13, 14, 17), optionally guided by a knowledge prior (Eq. 45)."""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn


class SpatialAttention(nn.Module):
    """alpha_t = softmax_{h x w}(Phi(f_t) / sqrt(d)) (Eq. 13, 17); f_t^att = sum_ij alpha_ij f_ij (Eq. 14).

    Local-peak descriptor (our addition, switch ``spatial_peak``): small defects — a pore, a
    groove along a bead toe, a crack line — fill one cell of the (h, w) map, and a softmax-weighted
    mean over h x w dilutes them by up to h*w when the attention is spread (or sits on the arc).
    With ``peak`` the attended vector gets W_peak max_ij f_ij added; W_peak starts at zero, so the
    block starts as Eq. 14 and learns how much of the peak to use.

    Args:
        dim: channels d of the feature maps.
        enabled: off -> uniform weights (spatial mean).
        peak: add the projected spatial maximum.
    """

    def __init__(self, dim: int, enabled: bool = True, peak: bool = False) -> None:
        super().__init__()
        self.dim = dim
        hidden = max(dim // 2, 1)
        # no bias on the last layer: a constant logit cancels in the softmax (its gradient is exactly 0)
        self.score = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, 1, bias=False)) if enabled else None
        self.peak = nn.Linear(dim, dim, bias=False) if peak else None
        if self.peak is not None:
            nn.init.zeros_(self.peak.weight)

    def forward(self, f: Tensor, prior: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """f: (B, T, h, w, d); prior: (B, T, h, w) summing to 1 over h x w, or None.

        Returns (alpha (B, T, h, w), attended (B, T, d)). With a prior, Eq. 45
        alpha_guided = alpha_spatial + alpha_knowledge, halved so that it stays a distribution.
        """
        b, t, h, w, _ = f.shape
        if self.score is not None:
            logits = self.score(f).reshape(b, t, h * w) / math.sqrt(self.dim)  # (B, T, h*w)
            alpha = torch.softmax(logits, dim=-1).reshape(b, t, h, w)
        else:
            alpha = f.new_full((b, t, h, w), 1.0 / (h * w))
        if prior is not None:
            alpha = 0.5 * (alpha + prior)  # Eq. 45
        attended = torch.einsum("bthw,bthwd->btd", alpha, f)  # Eq. 14
        if self.peak is not None:
            attended = attended + self.peak(f.amax(dim=(2, 3)))  # (B, T, d)
        return alpha, attended
