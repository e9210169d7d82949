"""Laser-monitor encoder: (B, 4, S) beam power + photodiodes -> tokens (B, N + 1, D), pooled (B, D).

Two strided 1-D convolutions over all channels, average-pooled to N tokens of ``token_ms`` each;
one more token summarises the window per channel — mean, standard deviation, linear trend (a
power ramp is one number) and the trend's size against the residual (``trend_snr``), the window
statistics of the electrical encoder (:mod:`weldfusion.sensors.electrical.encoder`), because a
laser cell's programmed power ramp is the same kind of event as an arc's set-point ramp.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from weldfusion.datasets.info import DataInfo, ModalityShape
from weldfusion.fusion.encoder_base import Encoder, EncoderSpec
from weldfusion.sensors.electrical.encoder import STATS_GAIN, asinh, linear_trend, trend_snr


@dataclass
class LaserMonitorEncoderConfig:
    """Settings of the laser-monitor encoder (``model.laser_monitor``): convolution channels, token length (ms)."""

    conv_dim: int = 32
    token_ms: float = 50.0


class LaserMonitorEncoder(Encoder):
    def __init__(self, shape: ModalityShape, info: DataInfo, dim: int, conv_dim: int = 32,
                 token_ms: float = 50.0) -> None:
        super().__init__(shape, info, dim)
        c, s = self.signal_shape(shape, "the laser-monitor encoder")
        self.n_tokens = max(1, round(1000.0 * s / shape.rate / token_ms))
        self.conv = nn.Sequential(
            nn.Conv1d(c, conv_dim, kernel_size=7, stride=2, padding=3), nn.GELU(),
            nn.Conv1d(conv_dim, conv_dim, kernel_size=5, stride=2, padding=2), nn.GELU(),
        )
        self.proj = nn.Linear(conv_dim, dim)
        self.summary = nn.Sequential(nn.Linear(4 * c, dim), nn.GELU(), nn.Linear(dim, dim))

    def forward(self, x: Tensor, params: Tensor, pair: Tensor) -> dict:
        """x: (B, C, S) normalised channels -> tokens (B, N + 1, D), pooled (B, D)."""
        h = F.adaptive_avg_pool1d(self.conv(x), self.n_tokens)  # (B, conv_dim, N)
        tokens = self.proj(h.transpose(1, 2))  # (B, N, D)
        trend = linear_trend(x)  # (B, C)
        stats = torch.cat([asinh(STATS_GAIN * x.mean(dim=-1)), asinh(STATS_GAIN * x.std(dim=-1)),
                           asinh(STATS_GAIN * trend), trend_snr(x, trend)], dim=1)  # (B, 4C)
        tokens = torch.cat([tokens, self.summary(stats)[:, None, :]], dim=1)
        return {"tokens": tokens, "pooled": tokens.mean(dim=1), "attention": {}, "aux": {}}


ENCODER = EncoderSpec(encoder=LaserMonitorEncoder, config=LaserMonitorEncoderConfig)
