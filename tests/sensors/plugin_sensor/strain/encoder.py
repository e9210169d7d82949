"""Encoder of the strain gauge: one strided 1-D convolution -> tokens (B, S', D), pooled (B, D)."""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor, nn
from weldfusion.fusion.encoder_base import Encoder, EncoderSpec


@dataclass
class StrainEncoderConfig:
    hidden: int = 8


class StrainEncoder(Encoder):
    def __init__(self, shape, info, dim: int, hidden: int = 8) -> None:
        super().__init__(shape, info, dim)
        channels = shape.shape[0]
        self.conv = nn.Conv1d(channels, hidden, kernel_size=5, stride=2, padding=2)
        self.proj = nn.Linear(hidden, dim)

    def forward(self, x: Tensor, params: Tensor, pair: Tensor) -> dict:
        """x: (B, C, S) -> tokens (B, S', D), pooled (B, D)."""
        tokens = self.proj(self.conv(x).relu().transpose(1, 2))  # (B, S', D)
        return {"tokens": tokens, "pooled": tokens.mean(dim=1), "attention": {}, "aux": {}}


ENCODER = EncoderSpec(encoder=StrainEncoder, config=StrainEncoderConfig)
