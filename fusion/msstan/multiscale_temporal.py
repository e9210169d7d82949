"""Multi-scale temporal modelling (Eq. 9-12) with separable temporal convolutions (Eq. 43-44).

Each temporal window size tau aggregates overlapping runs of tau consecutive frames at every
spatial position (Eq. 9), either with a depthwise-separable temporal convolution (Eq. 43) or a
full 3-D convolution over (tau, 3, 3) (Eq. 11). The scales are fused by attention weights
computed from their pooled descriptors (Eq. 10), then LayerNorm + residual (Eq. 12).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import Tensor, nn
from weldfusion.fusion.frozen_cache import derived_weights


class SeparableTemporalConv(nn.Module):
    """Eq. 43 at k scales at once: per channel, a temporal kernel of tau_j taps for every scale j,
    then a pointwise channel mix per scale.

    The k depthwise kernels are stored as one (d*k, 1, max tau, 1) tensor (channel c*k + j);
    taps outside each scale's central tau taps are held at zero by a fixed mask. The forward runs
    depthwise + pointwise of all scales as one dense conv (:meth:`fused_weight`).
    """

    def __init__(self, dim: int, scales: tuple[int, ...]) -> None:
        super().__init__()
        k, kmax = len(scales), max(scales)
        self.k, self.kmax = k, kmax
        mask = torch.zeros(dim, k, kmax)
        for j, tau in enumerate(scales):
            mask[:, j, kmax // 2 - tau // 2 : kmax // 2 + tau // 2 + 1] = 1.0
        self.register_buffer("tap_mask", mask.reshape(dim * k, 1, kmax, 1), persistent=False)
        taps = mask.sum(dim=-1, keepdim=True).reshape(dim * k, 1, 1, 1)
        self.depthwise = nn.Parameter((torch.rand(dim * k, 1, kmax, 1) * 2 - 1) / taps.sqrt() * self.tap_mask)
        self.depthwise_bias = nn.Parameter(torch.zeros(dim * k))
        bound = 1.0 / math.sqrt(dim)
        self.pointwise = nn.Parameter(torch.empty(k, dim, dim).uniform_(-bound, bound))  # (k, d_in, d_out)
        self.pointwise_bias = nn.Parameter(torch.zeros(k, dim))

    def fused_weight(self) -> tuple[Tensor, Tensor]:
        """The depthwise taps and the pointwise mix of every scale as one dense temporal conv.

        Returns (weight (k*d_out, d_in, kmax, 1), bias (k*d_out,)), output channel j*d + e for scale
        j: W[j, e, c, tau] = P_j[c, e] * w_{c, j}[tau], b[j, e] = sum_c P_j[c, e] b_{c, j} + b_j[e].
        The same linear map as depthwise conv -> per-scale 1x1 mix, in one op instead of four (the
        depthwise conv of this size is a slow oneDNN path at batch 1); the parameters (and Eq. 44)
        stay the factorised ones, so checkpoints and the L1 term are unchanged.
        """
        d = self.pointwise.shape[1]
        taps = (self.depthwise * self.tap_mask).reshape(d, self.k, self.kmax)  # (d_in, k, kmax)
        weight = torch.einsum("jce,cjt->ject", self.pointwise, taps).reshape(self.k * d, d, self.kmax, 1).contiguous()
        bias = torch.einsum("jce,cj->je", self.pointwise, self.depthwise_bias.reshape(d, self.k)) + self.pointwise_bias
        return weight, bias.reshape(-1)

    def forward(self, f: Tensor) -> Tensor:
        """f: (B, T, h, w, d) -> per-scale features (B, k, T, h, w, d)."""
        b, t, h, w, d = f.shape
        x = f.reshape(b, t, h * w, d).permute(0, 3, 1, 2)  # (B, d, T, h*w), channels-last view
        weight, bias = derived_weights(self, (self.depthwise, self.depthwise_bias, self.pointwise, self.pointwise_bias),
                                       self.fused_weight)  # once per parameter state at inference
        x = F.conv2d(x, weight, bias, padding=(self.kmax // 2, 0))  # (B, k*d, T, h*w)
        return rearrange(x, "b (k e) t (h w) -> b k t h w e", k=self.k, h=h)

    def l1(self) -> Tensor:
        """Eq. 44: mean absolute value of the temporal kernel taps (L1 norm / number of taps)."""
        return (self.depthwise * self.tap_mask).abs().sum() / self.tap_mask.sum()


class Temporal3DConv(nn.Module):
    """Eq. 11: full 3-D convolutions over (tau, 3, 3), one per scale — the heavy alternative to Eq. 43."""

    def __init__(self, dim: int, scales: tuple[int, ...]) -> None:
        super().__init__()
        self.convs = nn.ModuleList(nn.Conv3d(dim, dim, (k, 3, 3), padding=(k // 2, 1, 1)) for k in scales)

    def forward(self, f: Tensor) -> Tensor:
        """f: (B, T, h, w, d) -> per-scale features (B, k, T, h, w, d)."""
        x = rearrange(f, "b t h w d -> b d t h w").contiguous()
        return torch.stack([rearrange(conv(x), "b d t h w -> b t h w d") for conv in self.convs], dim=1)


class MultiScaleTemporal(nn.Module):
    """Eq. 9-12 over f (B, T, h, w, d).

    Args:
        dim: channels d.
        scales: temporal window sizes (odd); with ``multiscale=False`` only the largest is used.
        separable: Eq. 43 (else Eq. 11 3-D convs).
        multiscale: fuse several scales by attention (Eq. 10).
    """

    def __init__(self, dim: int, scales: tuple[int, ...], separable: bool, multiscale: bool) -> None:
        super().__init__()
        self.scales = tuple(scales) if multiscale else (max(scales),)
        self.conv = SeparableTemporalConv(dim, self.scales) if separable else Temporal3DConv(dim, self.scales)
        self.separable = separable
        self.scale_score = nn.Linear(dim, 1, bias=False) if len(self.scales) > 1 else None
        self.norm = nn.LayerNorm(dim)
        self.dim = dim

    def forward(self, f: Tensor) -> tuple[Tensor, Tensor]:
        """f: (B, T, h, w, d) -> (fused (B, T, h, w, d), scale weights (B, k)).

        The Eq. 44 term of the separable variant is ``self.conv.l1()``.
        """
        feats = self.conv(f)  # (B, k, T, h, w, d), Eq. 9 / 43 / 11
        if self.scale_score is not None:
            desc = feats.mean(dim=(2, 3, 4))  # (B, k, d)
            beta = torch.softmax(self.scale_score(desc).squeeze(-1) / math.sqrt(self.dim), dim=1)  # (B, k), Eq. 10
            fused = torch.einsum("bk,bkthwd->bthwd", beta, feats)
        else:
            beta = f.new_ones(f.shape[0], 1)
            fused = feats[:, 0]
        return self.norm(fused) + f, beta  # Eq. 12
