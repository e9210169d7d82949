"""Acoustic-emission encoder: (B, C, S) RMS envelopes -> tokens (B, N + 1, D), pooled (B, D).

Two strided 1-D convolutions over the envelope, average-pooled to N tokens of ``token_ms`` each;
one more token carries the window's hits — the AE practice of counting threshold crossings:
per channel, bins above the window's median by ``hit_k`` median absolute deviations (a hit
stands out of the sensor's own noise floor whatever the gain), as ``log1p(hits per second)``, the
peak and the mean envelope level.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from weldfusion.datasets.info import DataInfo, ModalityShape
from weldfusion.fusion.encoder_base import Encoder, EncoderSpec


@dataclass
class EmissionEncoderConfig:
    """Settings of the AE encoder (``model.emission``): channels of the convolutions, token length
    (ms) and the hit threshold in median absolute deviations above the window's median."""

    conv_dim: int = 32
    token_ms: float = 50.0
    hit_k: float = 6.0


def _median(x: Tensor) -> Tensor:
    """(B, C, S) -> (B, C, 1) lower median by sorting (ONNX has no median operator; sort exports)."""
    return x.sort(dim=-1).values[..., (x.shape[-1] - 1) // 2:(x.shape[-1] - 1) // 2 + 1]


def hit_features(x: Tensor, window_s: float, k: float) -> Tensor:
    """x: (B, C, S) envelopes -> (B, C, 3): [log1p(hits per second), peak, mean].

    A hit is a bin above ``median + k * MAD`` of its window (MAD floored at 1e-3 of the data's
    units, so a flat window has no hits); consecutive bins above it count once.
    """
    med = _median(x)
    mad = _median((x - med).abs()).clamp_min(1e-3)
    above = x > med + k * mad  # (B, C, S)
    onsets = above[..., :1].to(x.dtype).squeeze(-1) + (above[..., 1:] & ~above[..., :-1]).sum(dim=-1).to(x.dtype)
    return torch.stack([torch.log1p(onsets / window_s), x.amax(dim=-1), x.mean(dim=-1)], dim=-1)


class EmissionEncoder(Encoder):
    def __init__(self, shape: ModalityShape, info: DataInfo, dim: int, conv_dim: int = 32, token_ms: float = 50.0,
                 hit_k: float = 6.0) -> None:
        super().__init__(shape, info, dim)
        c, s = self.signal_shape(shape, "the emission encoder")
        self.window_s = s / shape.rate
        self.hit_k = hit_k
        self.n_tokens = max(1, round(1000.0 * self.window_s / token_ms))
        self.conv = nn.Sequential(
            nn.Conv1d(c, conv_dim, kernel_size=9, stride=4, padding=4), nn.GELU(),
            nn.Conv1d(conv_dim, conv_dim, kernel_size=5, stride=2, padding=2), nn.GELU(),
        )
        self.proj = nn.Linear(conv_dim, dim)
        self.hits = nn.Sequential(nn.Linear(3 * c, dim), nn.GELU(), nn.Linear(dim, dim))

    def forward(self, x: Tensor, params: Tensor, pair: Tensor) -> dict:
        """x: (B, C, S) normalised RMS envelopes -> tokens (B, N + 1, D), pooled (B, D)."""
        h = F.adaptive_avg_pool1d(self.conv(x), self.n_tokens)  # (B, conv_dim, N)
        tokens = self.proj(h.transpose(1, 2))  # (B, N, D)
        summary = self.hits(hit_features(x, self.window_s, self.hit_k).flatten(1))[:, None, :]  # (B, 1, D)
        tokens = torch.cat([tokens, summary], dim=1)
        return {"tokens": tokens, "pooled": tokens.mean(dim=1), "attention": {}, "aux": {}}


ENCODER = EncoderSpec(encoder=EmissionEncoder, config=EmissionEncoderConfig)
