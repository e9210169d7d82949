"""Laser-monitor encoder: (B, 4, S) beam power + photodiodes -> tokens (B, N + 1, D), pooled (B, D).

Two strided 1-D convolutions over all channels, average-pooled to N tokens of ``token_ms`` each;
one more token summarises the window per channel — mean, standard deviation, linear trend (a
power ramp is one number) and the trend's size against the residual (``trend_snr``), the window
statistics of the electrical encoder (:mod:`weldfusion.sensors.electrical.encoder`), because a
laser cell's programmed power ramp is the same kind of event as an arc's set-point ramp
(:class:`~weldfusion.fusion.conv_summary_encoder.WindowStatsEncoder`, shared with the FSW machine data).
"""

from __future__ import annotations

from dataclasses import dataclass

from weldfusion.fusion.conv_summary_encoder import WindowStatsEncoder
from weldfusion.fusion.encoder_base import EncoderSpec


@dataclass
class LaserMonitorEncoderConfig:
    """Settings of the laser-monitor encoder (``model.laser_monitor``): convolution channels, token length (ms)."""

    conv_dim: int = 32
    token_ms: float = 50.0


class LaserMonitorEncoder(WindowStatsEncoder):
    """The laser monitor's encoder (:class:`~weldfusion.fusion.conv_summary_encoder.WindowStatsEncoder`)."""


ENCODER = EncoderSpec(encoder=LaserMonitorEncoder, config=LaserMonitorEncoderConfig)
