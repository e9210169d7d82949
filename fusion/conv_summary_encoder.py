"""A light encoder for process-monitoring signals: strided 1-D convolutions + one summary token.

(B, C, S) -> tokens (B, N + 1, D), pooled (B, D): two strided convolutions over all channels,
average-pooled to N tokens of ``token_ms`` each and projected to D; one more token from per-window
features (B, F) that the subclass computes in :meth:`ConvSummaryEncoder.summary_features` (hit
counts of acoustic emission, the window statistics of a laser monitor, ...).
"""

from __future__ import annotations

import itertools

import numpy as np
import torch
import torch.nn.functional as F
from scipy.signal import firwin
from torch import Tensor, nn
from weldfusion.datasets.info import DataInfo, ModalityShape
from weldfusion.fusion.encoder_base import Encoder
from weldfusion.sensors.electrical.encoder import STATS_GAIN, asinh, linear_trend, trend_snr

#: Taps of the fixed band-pass filters of :class:`WindowStatsEncoder` (63 at 1 kHz: 63 ms of the window).
BAND_TAPS = 63


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
    statistics of the electrical encoder (:mod:`weldfusion.sensors.electrical.encoder`) — and, with
    ``band_edges_hz`` (``[f0, f1, ..., fk]``), each channel's log power in the k bands between them:
    fixed FIR band-pass filters (``scipy.signal.firwin``, 63 taps, a buffer, not learned) run as one
    grouped convolution, so an oscillation at a known frequency (a tool's rotation line, stick-slip) is
    one number, not something the convolutions must find in a few hundred training windows."""

    def __init__(self, shape: ModalityShape, info: DataInfo, dim: int, conv_dim: int = 32,
                 token_ms: float = 50.0, band_edges_hz: list[float] | tuple[float, ...] = ()) -> None:
        c = shape.shape[0]
        edges = [float(f) for f in band_edges_hz]
        if edges and (len(edges) < 2 or any(b <= a for a, b in itertools.pairwise(edges))
                      or edges[0] <= 0 or edges[-1] >= shape.rate / 2):
            raise ValueError(f"band_edges_hz must rise from above 0 to below the window's Nyquist frequency "
                             f"({shape.rate / 2:g} Hz), got {edges}")
        n_bands = max(len(edges) - 1, 0)
        super().__init__(shape, info, dim, conv_dim, token_ms, kernels=((7, 2), (5, 2)), n_summary=(4 + n_bands) * c)
        self.n_bands = n_bands
        if n_bands:
            taps = np.stack([firwin(BAND_TAPS, [lo, hi], pass_zero=False, fs=shape.rate)
                             for lo, hi in itertools.pairwise(edges)])  # (k, taps)
            weight = torch.as_tensor(np.tile(taps, (c, 1)), dtype=torch.float32)[:, None, :]  # (C k, 1, taps)
            self.register_buffer("band_filters", weight)

    def summary_features(self, x: Tensor) -> Tensor:
        """x: (B, C, S) normalised channels -> (B, (4 + k) C): mean, std, trend, trend / residual, band powers."""
        trend = linear_trend(x)  # (B, C)
        feats = [asinh(STATS_GAIN * x.mean(dim=-1)), asinh(STATS_GAIN * x.std(dim=-1)),
                 asinh(STATS_GAIN * trend), trend_snr(x, trend)]
        if self.n_bands:
            y = F.conv1d(x, self.band_filters, groups=x.shape[1])  # (B, C k, S - taps + 1)
            feats.append(torch.log(y.pow(2).mean(dim=-1) + 1e-6))  # (B, C k)
        return torch.cat(feats, dim=1)
