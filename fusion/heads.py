"""Output heads: phase (softmax, Eq. 19-20, dropout Eq. 23), defects (multi-label sigmoid) and the
projection head of the contrastive loss (Eq. 39)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn


class PhaseHead(nn.Module):
    """(B, E) -> phase logits (B, P); softmax of them is P(phase | window)."""

    def __init__(self, dim: int, n_phases: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.drop = nn.Dropout(dropout)
        self.fc = nn.Linear(dim, n_phases)

    def forward(self, x: Tensor) -> Tensor:
        return self.fc(self.drop(x))


class DefectHead(nn.Module):
    """(B, E) -> defect logits (B, D); an independent sigmoid per defect (multi-label)."""

    def __init__(self, dim: int, n_defects: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.drop = nn.Dropout(dropout)
        self.fc = nn.Linear(dim, n_defects)

    def forward(self, x: Tensor) -> Tensor:
        return self.fc(self.drop(x))


class ProjectionHead(nn.Module):
    """Eq. 39: (B, E) -> L2-normalised projection (B, P_out) for the contrastive/semantic losses."""

    def __init__(self, dim: int, out_dim: int) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(dim, dim), nn.GELU(), nn.Linear(dim, out_dim))

    def forward(self, x: Tensor) -> Tensor:
        return F.normalize(self.net(x), dim=-1)


def prediction_dict(
    phase_logits: Tensor,
    defect_logits: Tensor,
    embedding: Tensor,
    projection: Tensor,
    modality_weights: Tensor,
    present: Tensor,
    attention: dict,
    aux: dict,
) -> dict:
    """The model output dict shared by the fusion model and the baselines.

    phase_logits (B, P), defect_logits (B, D), embedding (B, E), projection (B, E'),
    modality_weights (B, M), present (B, M) -> dict with logits, softmax/sigmoid probabilities,
    embedding, projection, modality weights, presence, attention maps and auxiliary terms.
    """
    return {
        "phase_logits": phase_logits,
        "phase_probs": torch.softmax(phase_logits, dim=-1),
        "defect_logits": defect_logits,
        "defect_probs": torch.sigmoid(defect_logits),
        "embedding": embedding,
        "projection": projection,
        "modality_weights": modality_weights,
        "present": present,
        "attention": attention,
        "aux": aux,
    }
