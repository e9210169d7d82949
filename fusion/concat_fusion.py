"""Concatenation fusion (comparison): pooled vectors of all modalities (the learned "missing"
embedding in place of an absent one) and the presence mask, concatenated, then an MLP.

Modality weights are uniform over the present modalities (this fusion has no attention).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from weldfusion.fusion.late_fusion import present_weights


class ConcatFusion(nn.Module):
    """(B, M * D + M) -> MLP -> embedding (B, D)."""

    produces_logits = False

    def __init__(self, names: tuple[str, ...], dim: int) -> None:
        super().__init__()
        self.names = tuple(names)
        m = len(names)
        self.missing = nn.Parameter(torch.randn(m, dim) * 0.02)
        self.mlp = nn.Sequential(nn.LayerNorm(m * dim + m), nn.Linear(m * dim + m, dim), nn.GELU(),
                                 nn.Linear(dim, dim))

    def forward(self, tokens: dict[str, Tensor], pooled: dict[str, Tensor], present: Tensor) -> dict:
        """pooled[m]: (B, D); present: (B, M) bool -> {"embedding": (B, D), "modality_weights": (B, M)}."""
        parts = [torch.where(present[:, i : i + 1], pooled[n], self.missing[i]) for i, n in enumerate(self.names)]
        x = torch.cat([*parts, present.to(self.missing.dtype)], dim=1)  # (B, M * D + M)
        return {"embedding": self.mlp(x), "modality_weights": present_weights(present)}
