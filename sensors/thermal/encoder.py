"""Thermal encoder: MS-STAN over one-channel temperature maps (B, T, H, W) -> tokens (B, T', D), pooled (B, D).

Its default configuration (``ModelConfig.thermal``) differs from video: the Sobel gradient
magnitude of each temperature map is a second input channel (cooling gradients across the fusion
line and the heat-affected zone), temporal scales are shorter and frames are not sampled
(few frames per window at IR-camera rates).
"""

from __future__ import annotations

from weldfusion.fusion.config import MSSTANConfig
from weldfusion.fusion.encoder_base import EncoderSpec
from weldfusion.fusion.msstan.model import MSSTANEncoder


class ThermalEncoder(MSSTANEncoder):
    """MS-STAN for normalised radiometric temperature maps."""


ENCODER = EncoderSpec(encoder=ThermalEncoder, config=MSSTANConfig)
