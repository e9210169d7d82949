"""Video encoder: MS-STAN over grey high-speed frames (B, T, H, W) -> tokens (B, T', D), pooled (B, D).

T' = T in training; at inference with adaptive frame sampling, T' = round(keep_ratio * T).
"""

from __future__ import annotations

from weldfusion.fusion.config import MSSTANConfig
from weldfusion.fusion.encoder_base import EncoderSpec
from weldfusion.fusion.msstan.model import MSSTANEncoder


class VideoEncoder(MSSTANEncoder):
    """MS-STAN for normalised grey frames of the arc / weld pool (one input channel)."""


ENCODER = EncoderSpec(encoder=VideoEncoder, config=MSSTANConfig)
