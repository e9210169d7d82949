"""Late fusion (comparison): one phase and one defect head per modality, probabilities averaged
over the present modalities.

phase_logits = log(mean_m softmax(z_m)) and defect_logits = logit(mean_m sigmoid(z_m)), so the
model's softmax/sigmoid give back the averaged probabilities. The embedding is the mean pooled
vector of the present modalities; modality weights are uniform over the present ones.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from weldfusion.fusion.heads import DefectHead, PhaseHead


def present_weights(present: Tensor) -> Tensor:
    """(B, M) bool -> (B, M) float, 1 / (number present) on present modalities, 0 elsewhere."""
    p = present.to(torch.get_default_dtype())
    return p / p.sum(dim=1, keepdim=True).clamp_min(1.0)


class LateFusion(nn.Module):
    """Average of per-modality heads."""

    produces_logits = True

    def __init__(self, names: tuple[str, ...], dim: int, n_phases: int, n_defects: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.names = tuple(names)
        self.phase = nn.ModuleDict({n: PhaseHead(dim, n_phases, dropout) for n in names})
        self.defect = nn.ModuleDict({n: DefectHead(dim, n_defects, dropout) for n in names})

    def forward(self, tokens: dict[str, Tensor], pooled: dict[str, Tensor], present: Tensor) -> dict:
        """pooled[m]: (B, D); present: (B, M) -> embedding, modality_weights, phase_logits, defect_logits."""
        w = present_weights(present)  # (B, M)
        phase_p, defect_p, emb = 0.0, 0.0, 0.0
        for i, name in enumerate(self.names):
            p = present[:, i : i + 1]
            x = torch.where(p, pooled[name], 0.0)  # (B, D)
            wi = w[:, i : i + 1]
            phase_p = phase_p + wi * torch.softmax(self.phase[name](x), dim=-1)
            defect_p = defect_p + wi * torch.sigmoid(self.defect[name](x))
            emb = emb + wi * x
        return {"embedding": emb, "modality_weights": w,
                "phase_logits": torch.log(phase_p.clamp_min(1e-8)),
                "defect_logits": torch.logit(defect_p.clamp(1e-6, 1.0 - 1e-6))}
