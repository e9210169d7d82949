"""FSW machine encoder: (B, 7, S) torque, force, speeds, depth, power, heat input -> tokens (B, N + 1, D), pooled (B, D).

The process monitor's encoder (:class:`~weldfusion.fusion.conv_summary_encoder.WindowStatsEncoder`):
two strided convolutions, a token of window statistics (a programmed change of spindle or traverse
speed is a trend) and each channel's power in four bands (5-12-30-80-200 Hz: the force oscillation at
the tool's rotation frequency, a tunnel's pulsing, galling's stick-slip).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from weldfusion.fusion.conv_summary_encoder import WindowStatsEncoder
from weldfusion.fusion.encoder_base import EncoderSpec


@dataclass
class FswMachineEncoderConfig:
    """Settings of the FSW machine encoder (``model.fsw_machine``): convolution channels, token length
    (ms; 40 ms = 10 tokens of the 400-sample window, whose strided convolutions leave 100 samples: ONNX's
    adaptive pooling needs a whole number of samples per token)."""

    conv_dim: int = 32
    token_ms: float = 40.0
    #: band powers of every channel between these (Hz): the tool's rotation line (15-25 Hz: force
    #: oscillation, a tunnel's pulsing) and galling's stick-slip (30-80 Hz) as numbers of their own
    band_edges_hz: list[float] = field(default_factory=lambda: [5.0, 12.0, 30.0, 80.0, 200.0])


class FswMachineEncoder(WindowStatsEncoder):
    """The FSW machine data's encoder (:class:`~weldfusion.fusion.conv_summary_encoder.WindowStatsEncoder`)."""


ENCODER = EncoderSpec(encoder=FswMachineEncoder, config=FswMachineEncoderConfig)
