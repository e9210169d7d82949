"""FSW machine encoder: (B, 7, S) torque, force, speeds, depth, power, heat input -> tokens (B, N + 1, D), pooled (B, D).

The process monitor's encoder (:class:`~weldfusion.fusion.conv_summary_encoder.WindowStatsEncoder`):
two strided convolutions (the force oscillation at the rotation frequency, the torque's stick-slip)
and a token of window statistics (a programmed change of spindle or traverse speed is a trend).
"""

from __future__ import annotations

from dataclasses import dataclass

from weldfusion.fusion.conv_summary_encoder import WindowStatsEncoder
from weldfusion.fusion.encoder_base import EncoderSpec


@dataclass
class FswMachineEncoderConfig:
    """Settings of the FSW machine encoder (``model.fsw_machine``): convolution channels, token length
    (ms; 40 ms = 10 tokens of the 400-sample window, whose strided convolutions leave 100 samples: ONNX's
    adaptive pooling needs a whole number of samples per token)."""

    conv_dim: int = 32
    token_ms: float = 40.0


class FswMachineEncoder(WindowStatsEncoder):
    """The FSW machine data's encoder (:class:`~weldfusion.fusion.conv_summary_encoder.WindowStatsEncoder`)."""


ENCODER = EncoderSpec(encoder=FswMachineEncoder, config=FswMachineEncoderConfig)
