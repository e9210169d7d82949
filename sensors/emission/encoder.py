"""Acoustic-emission encoder: (B, C, S) RMS envelopes -> tokens (B, N + 1, D), pooled (B, D).

Two strided 1-D convolutions over the envelope, average-pooled to N tokens of ``token_ms`` each;
one more token carries the window's hits — the AE practice of counting threshold crossings:
per channel, bins above the window's median by ``hit_k`` median absolute deviations (a hit
stands out of the sensor's own noise floor whatever the gain), as ``log1p(hits per second)``, the
peak and the mean envelope level.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor
from weldfusion.datasets.info import DataInfo, ModalityShape
from weldfusion.fusion.conv_summary_encoder import ConvSummaryEncoder
from weldfusion.fusion.encoder_base import EncoderSpec


@dataclass
class EmissionEncoderConfig:
    """Settings of the AE encoder (``model.emission``): channels of the convolutions, token length
    (ms) and the hit threshold in median absolute deviations above the window's median."""

    conv_dim: int = 32
    token_ms: float = 50.0
    hit_k: float = 6.0


def _median(x: Tensor) -> Tensor:
    """(B, C, S) -> (B, C, 1) lower median: ``torch.median`` (a selection, 2-4x faster than a sort), by
    sorting in an ONNX export (ONNX has no median operator; sort exports). Both give the same element."""
    if torch.onnx.is_in_onnx_export():
        return x.sort(dim=-1).values[..., (x.shape[-1] - 1) // 2:(x.shape[-1] - 1) // 2 + 1]
    return x.median(dim=-1, keepdim=True).values


def hit_features(x: Tensor, window_s: float, k: float) -> Tensor:
    """x: (B, C, S) envelopes -> (B, C, 3): [log1p(hits per second), peak, mean].

    A hit is a bin above ``median + k * MAD`` of its window (MAD floored at 1e-3 of the data's
    units, so a flat window has no hits); consecutive bins above it count once.
    """
    med = _median(x)
    mad = _median((x - med).abs()).clamp_min(1e-3)
    above = x > med + k * mad  # (B, C, S)
    onsets = above[..., :1].to(x.dtype).squeeze(-1) + (above[..., 1:] & ~above[..., :-1]).sum(dim=-1).to(x.dtype)
    return torch.stack([torch.log1p(onsets / window_s), x.amax(dim=-1), x.mean(dim=-1)], dim=-1)


class EmissionEncoder(ConvSummaryEncoder):
    def __init__(self, shape: ModalityShape, info: DataInfo, dim: int, conv_dim: int = 32, token_ms: float = 50.0,
                 hit_k: float = 6.0) -> None:
        super().__init__(shape, info, dim, conv_dim, token_ms, kernels=((9, 4), (5, 2)), n_summary=3 * shape.shape[0])
        self.hit_k = hit_k

    def summary_features(self, x: Tensor) -> Tensor:
        """x: (B, C, S) envelopes -> (B, 3C) hit features."""
        return hit_features(x, self.window_s, self.hit_k).flatten(1)


ENCODER = EncoderSpec(encoder=EmissionEncoder, config=EmissionEncoderConfig)
