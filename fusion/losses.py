"""Training objective: a dict of named, unweighted terms plus their weighted sum ``total``.

Terms (weights from :class:`~weldfusion.fusion.config.LossWeights`):

============================  ==============================================================
phase                         cross-entropy of the phase logits (optional class weights)
defect                        binary cross-entropy of the defect logits (optional pos_weight)
contrastive                   margin contrastive loss on the projections (Eq. 36-39)
semantic                      class-similarity loss (Eq. 47)
temporal_consistency          consecutive per-frame features (Eq. 48), from the model's aux
sepconv_l1                    L1 of the separable temporal kernels (Eq. 44), from aux
occlusion                     occlusion-mask sparsity (Eq. 27), from aux
reconstruction                background-suppression reconstruction (Eq. 30), from aux
smoothness                    frame-sampling score smoothness (Eq. 42), from aux
det_class, det_l1, det_giou   set loss of the box head (``fusion/localisation.py``)
det_seed_class, _l1, _giou    dense loss of its seeded queries' token scores and proposals
motion                        BCE + soft Dice of the motion-segmentation head
============================  ==============================================================

The aux terms exist only when the model component that produces them is switched on.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from weldfusion.fusion.localisation import localisation_terms

AUX_TERMS: tuple[str, ...] = ("sepconv_l1", "occlusion", "reconstruction", "smoothness")


def _pairwise_sq_dist(z: Tensor) -> Tensor:
    """(B, E) -> (B, B) squared Euclidean distances."""
    return (z[:, None, :] - z[None, :, :]).pow(2).sum(dim=-1)


def contrastive_loss(z: Tensor, labels: Tensor, margin: float) -> Tensor:
    """Margin contrastive loss over all ordered pairs i != j of the batch (Eq. 36-38).

    Same class: ||z_i - z_j||^2; different class (l(i, j) = 1 of Eq. 37): max(0, m - ||z_i - z_j||)^2.
    Eq. 36/38 as printed would add the distance of *different*-class pairs, which pulls classes
    together against the stated aim ("minimising the similarity between embeddings of different
    classes"); the standard margin form (Hadsell et al. 2006) implements that aim. Averaged over
    the B (B - 1) pairs instead of divided by N (scale independent of the batch size).
    z: (B, E), labels: (B,) -> scalar.
    """
    b = z.shape[0]
    if b < 2:
        return z.sum() * 0.0
    d2 = _pairwise_sq_dist(z)
    d = torch.sqrt(d2 + 1e-12)
    off = ~torch.eye(b, dtype=torch.bool, device=z.device)
    same = labels[:, None] == labels[None, :]
    pos = (same & off).to(z.dtype)
    neg = (~same).to(z.dtype)
    return (pos * d2 + neg * F.relu(margin - d).pow(2)).sum() / off.sum()


def semantic_loss(z: Tensor, labels: Tensor, similarity: Tensor) -> Tensor:
    """Eq. 47: sum_ij S[y_i, y_j] ||z_i - z_j||^2, averaged over the B (B - 1) pairs.

    z: (B, E), labels: (B,), similarity: (P, P) with zero diagonal -> scalar.
    """
    b = z.shape[0]
    if b < 2:
        return z.sum() * 0.0
    s = similarity[labels[:, None], labels[None, :]]  # (B, B)
    return (s * _pairwise_sq_dist(z)).sum() / (b * (b - 1))


class WeldFusionLoss(nn.Module):
    """Named loss terms and their weighted total.

    Args:
        weights: term name -> weight in ``total``.
        phase_class_weights: (P,) or None; defect_pos_weight: (D,) or None.
        label_smoothing: of the phase cross-entropy.
        contrastive: compute the contrastive term; margin: its margin.
        similarity: (P, P) class-similarity matrix of Eq. 47, or None to skip that term.
        temporal_consistency: add the Eq. 48 term from the model's aux.
        localisation: ``{"modality", "no_object_weight", "match_weights"}`` of the localisation
            heads, or None (terms of :func:`~weldfusion.fusion.localisation.localisation_terms`).
    """

    def __init__(self, weights: dict[str, float], phase_class_weights: Tensor | None = None,
                 defect_pos_weight: Tensor | None = None, label_smoothing: float = 0.0, contrastive: bool = True,
                 margin: float = 1.0, similarity: Tensor | None = None, temporal_consistency: bool = True,
                 localisation: dict | None = None) -> None:
        super().__init__()
        self.weights = dict(weights)
        self.register_buffer("phase_class_weights", phase_class_weights)
        self.register_buffer("defect_pos_weight", defect_pos_weight)
        self.register_buffer("similarity", similarity)
        self.label_smoothing = label_smoothing
        self.contrastive = contrastive
        self.margin = margin
        self.temporal_consistency = temporal_consistency
        self.localisation = localisation

    def forward(self, outputs: dict, batch: dict) -> dict[str, Tensor]:
        """outputs: the model's dict; batch: needs ``phase`` (B,) long and ``defects`` (B, D)."""
        phase = batch["phase"].long()
        terms: dict[str, Tensor] = {
            "phase": F.cross_entropy(outputs["phase_logits"], phase, weight=self.phase_class_weights,
                                     label_smoothing=self.label_smoothing),
            "defect": F.binary_cross_entropy_with_logits(outputs["defect_logits"], batch["defects"].float(),
                                                         pos_weight=self.defect_pos_weight),
        }
        if self.contrastive:
            terms["contrastive"] = contrastive_loss(outputs["projection"], phase, self.margin)
        if self.similarity is not None:
            terms["semantic"] = semantic_loss(outputs["projection"], phase, self.similarity)
        if "modality_logits" in outputs:
            terms["modality"] = self.modality_supervision(outputs["modality_logits"], outputs["present"], phase,
                                                          batch["defects"].float())
        aux = outputs["aux"]
        if self.temporal_consistency and "temporal_consistency" in aux:
            terms["temporal_consistency"] = aux["temporal_consistency"]
        for name in AUX_TERMS:
            if name in aux:
                terms[name] = aux[name]
        loc = self.localisation
        if loc is not None and loc["modality"] in outputs.get("localisation", {}):
            terms.update(localisation_terms(outputs["localisation"][loc["modality"]], batch, loc["modality"],
                                            no_object_weight=loc["no_object_weight"],
                                            match_weights=loc["match_weights"]))
        terms["total"] = sum(self.weights[name] * value for name, value in terms.items())
        return terms

    def modality_supervision(self, logits: dict, present: Tensor, phase: Tensor, defects: Tensor) -> Tensor:
        """Mean over modalities of CE + BCE of each modality's own heads on the rows where it is present.

        logits: {m: (phase (B, P), defect (B, D))}; present: (B, M) bool in the order of ``logits``.
        """
        losses = []
        for i, (p_logits, d_logits) in enumerate(logits.values()):
            rows = present[:, i]
            if not bool(rows.any()):
                continue
            ce = F.cross_entropy(p_logits[rows], phase[rows], weight=self.phase_class_weights,
                                 label_smoothing=self.label_smoothing)
            bce = F.binary_cross_entropy_with_logits(d_logits[rows], defects[rows], pos_weight=self.defect_pos_weight)
            losses.append(ce + bce)
        return torch.stack(losses).mean() if losses else phase.new_zeros((), dtype=torch.float32)
