"""A light encoder for process-monitoring signals: strided 1-D convolutions + one summary token.

(B, C, S) -> tokens (B, N + 1, D), pooled (B, D): two strided convolutions over all channels,
average-pooled to N tokens of ``token_ms`` each and projected to D; one more token from per-window
features (B, F) that the subclass computes in :meth:`ConvSummaryEncoder.summary_features` (hit
counts of acoustic emission, the window statistics of a laser monitor, ...).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from weldfusion.datasets.info import DataInfo, ModalityShape
from weldfusion.fusion.encoder_base import Encoder
from weldfusion.sensors.electrical.encoder import STATS_GAIN, asinh, linear_trend, trend_snr


class ConvSummaryEncoder(Encoder):
    """Base of the emission and laser-monitor encoders.

    Args:
        shape, info, dim: as every encoder.
        conv_dim: channels of the two convolutions.
        token_ms: length of one token (ms).
        kernels: ``((kernel, stride), (kernel, stride))`` of the two convolutions.
        n_summary: F, the number of per-window features :meth:`summary_features` returns.
    """

    def __init__(self, shape: ModalityShape, info: DataInfo, dim: int, conv_dim: int, token_ms: float,
                 kernels: tuple[tuple[int, int], tuple[int, int]], n_summary: int) -> None:
        super().__init__(shape, info, dim)
        c, s = self.signal_shape(shape, f"the {shape.name} encoder")
        self.window_s = s / shape.rate
        self.n_tokens = max(1, round(1000.0 * self.window_s / token_ms))
        (k1, s1), (k2, s2) = kernels
        self.conv = nn.Sequential(
            nn.Conv1d(c, conv_dim, kernel_size=k1, stride=s1, padding=k1 // 2), nn.GELU(),
            nn.Conv1d(conv_dim, conv_dim, kernel_size=k2, stride=s2, padding=k2 // 2), nn.GELU(),
        )
        self.proj = nn.Linear(conv_dim, dim)
        self.summary = nn.Sequential(nn.Linear(n_summary, dim), nn.GELU(), nn.Linear(dim, dim))

    def summary_features(self, x: Tensor) -> Tensor:  # pragma: no cover - protocol
        """x: (B, C, S) -> (B, F) per-window features."""
        raise NotImplementedError

    def forward(self, x: Tensor, params: Tensor, pair: Tensor) -> dict:
        """x: (B, C, S) normalised signals -> tokens (B, N + 1, D), pooled (B, D)."""
        h = F.adaptive_avg_pool1d(self.conv(x), self.n_tokens)  # (B, conv_dim, N)
        tokens = self.proj(h.transpose(1, 2))  # (B, N, D)
        tokens = torch.cat([tokens, self.summary(self.summary_features(x))[:, None, :]], dim=1)
        return {"tokens": tokens, "pooled": tokens.mean(dim=1), "attention": {}, "aux": {}}


class WindowStatsEncoder(ConvSummaryEncoder):
    """A process monitor's encoder (laser cell monitor, FSW machine data): the two convolutions plus
    a summary token of per-channel window statistics — mean, standard deviation, linear trend (a
    programmed ramp is one number) and the trend's size against the residual (``trend_snr``), the
    statistics of the electrical encoder (:mod:`weldfusion.sensors.electrical.encoder`)."""

    def __init__(self, shape: ModalityShape, info: DataInfo, dim: int, conv_dim: int = 32,
                 token_ms: float = 50.0) -> None:
        super().__init__(shape, info, dim, conv_dim, token_ms, kernels=((7, 2), (5, 2)), n_summary=4 * shape.shape[0])

    def summary_features(self, x: Tensor) -> Tensor:
        """x: (B, C, S) normalised channels -> (B, 4C): mean, std, trend, trend / residual."""
        trend = linear_trend(x)  # (B, C)
        return torch.cat([asinh(STATS_GAIN * x.mean(dim=-1)), asinh(STATS_GAIN * x.std(dim=-1)),
                          asinh(STATS_GAIN * trend), trend_snr(x, trend)], dim=1)
