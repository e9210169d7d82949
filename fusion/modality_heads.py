"""Per-modality deep supervision: a phase and a defect head on each encoder's pooled vector.

Trained jointly with the fused heads (loss term ``modality``, ``fusion/losses.py``) and not used
for the fused prediction. Without it, attention fusion tends to lean on the sensors that are
easiest to read early in training (here acoustic and thermal) and the others' encoders stop
learning what only they can see — on the default data the video encoder never learned the
undercut groove (mean video modality weight 0.09; undercut F1 0.08 while ``weldfusion probe``
reaches F1 0.92 for it from simple video window statistics). With its own heads every encoder is asked to
predict the labels from its sensor alone, on the samples where that sensor is present.
"""

from __future__ import annotations

from torch import Tensor, nn


class ModalityHeads(nn.Module):
    """pooled[m] (B, D) -> {m: (phase logits (B, P), defect logits (B, Dd))} for every modality."""

    def __init__(self, names: tuple[str, ...], dim: int, n_phases: int, n_defects: int) -> None:
        super().__init__()
        self.names = tuple(names)
        self.n_phases = n_phases
        self.heads = nn.ModuleDict({name: nn.Linear(dim, n_phases + n_defects) for name in self.names})

    def forward(self, pooled: dict[str, Tensor]) -> dict[str, tuple[Tensor, Tensor]]:
        out = {}
        for name in self.names:
            logits = self.heads[name](pooled[name])  # (B, P + Dd)
            out[name] = (logits[:, : self.n_phases], logits[:, self.n_phases :])
        return out
