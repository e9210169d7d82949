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
from torch import Tensor
from weldfusion.datasets.info import DataInfo, ModalityShape
from weldfusion.fusion.conv_summary_encoder import ConvSummaryEncoder
from weldfusion.fusion.encoder_base import EncoderSpec
from weldfusion.sensors.electrical.encoder import STATS_GAIN, asinh, linear_trend, trend_snr


@dataclass
class LaserMonitorEncoderConfig:
    """Settings of the laser-monitor encoder (``model.laser_monitor``): convolution channels, token length (ms)."""

    conv_dim: int = 32
    token_ms: float = 50.0


class LaserMonitorEncoder(ConvSummaryEncoder):
    def __init__(self, shape: ModalityShape, info: DataInfo, dim: int, conv_dim: int = 32,
                 token_ms: float = 50.0) -> None:
        super().__init__(shape, info, dim, conv_dim, token_ms, kernels=((7, 2), (5, 2)), n_summary=4 * shape.shape[0])

    def summary_features(self, x: Tensor) -> Tensor:
        """x: (B, C, S) normalised channels -> (B, 4C): mean, std, trend, trend / residual."""
        trend = linear_trend(x)  # (B, C)
        return torch.cat([asinh(STATS_GAIN * x.mean(dim=-1)), asinh(STATS_GAIN * x.std(dim=-1)),
                          asinh(STATS_GAIN * trend), trend_snr(x, trend)], dim=1)


ENCODER = EncoderSpec(encoder=LaserMonitorEncoder, config=LaserMonitorEncoderConfig)
