"""What every comparison network shares: the heads and the output dict of the fusion model.

A baseline computes one window vector ``embedding`` (B, E) and hands it to :class:`BaselineHeads`,
which returns exactly the keys of :meth:`weldfusion.fusion.model.WeldFusionModel.forward`, so the
same loss, trainer, evaluation, comparison and benchmark code runs every model unchanged.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from weldfusion.fusion.heads import DefectHead, PhaseHead, ProjectionHead, prediction_dict
from weldfusion.fusion.model import modality_dropout


class BaselineHeads(nn.Module):
    """Phase, defect and projection heads on the window vector (B, E).

    Args:
        dim: size E of the window vector.
        n_phases, n_defects: classes of the taxonomy.
        projection_dim: output size of the projection head (for the contrastive/semantic losses).
        dropout: dropout before the phase and defect heads.
    """

    def __init__(self, dim: int, n_phases: int, n_defects: int, projection_dim: int, dropout: float) -> None:
        super().__init__()
        self.phase = PhaseHead(dim, n_phases, dropout)
        self.defect = DefectHead(dim, n_defects, dropout)
        self.projection = ProjectionHead(dim, projection_dim)

    def forward(self, emb: Tensor, modality_weights: Tensor, present: Tensor, attention: dict) -> dict:
        """emb (B, E), modality_weights (B, M), present (B, M) -> the fusion model's output dict
        (``aux`` is empty: baselines have no auxiliary loss terms)."""
        phase_logits, defect_logits = self.phase(emb), self.defect(emb)
        return prediction_dict(phase_logits, defect_logits, emb, self.projection(emb), modality_weights, present,
                               attention, {})


def batch_presence(batch: dict, training: bool, p_drop: float) -> Tensor:
    """``batch["present"]`` (B, M) as bool, with training-time modality dropout of probability ``p_drop``.

    Raises ``ValueError`` if a sample has no present modality (as the fusion model does).
    """
    present = batch["present"].bool()
    if not bool(present.any(dim=1).all()):
        raise ValueError("every sample needs at least one present modality")
    if training and p_drop > 0:
        present = modality_dropout(present, p_drop)
    return present


def used_presence_weights(present: Tensor, used: Tensor) -> Tensor:
    """Uniform weights over the modalities a baseline uses and that are present.

    present: (B, M) bool, used: (M,) bool -> (B, M) float summing to 1 per row (all zero for a row
    where no used modality is present). Baselines without modality weighting report these.
    """
    w = (present & used[None, :]).to(torch.get_default_dtype())
    return w / w.sum(dim=1, keepdim=True).clamp_min(1.0)
