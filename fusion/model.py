"""WeldFusionModel: one encoder per modality, a fusion, and the heads.

Reading order: :meth:`WeldFusionModel.forward` -> encoders (``sensors/<m>/encoder.py``, MS-STAN
in ``fusion/msstan/``) -> fusion (``modality_attention.py`` | ``late_fusion.py`` |
``concat_fusion.py``) -> heads (``heads.py``).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from weldfusion.fusion.heads import prediction_dict


def modality_dropout(present: Tensor, p: float) -> Tensor:
    """Drop each present modality with probability ``p``; a sample keeps at least one of its own.

    present: (B, M) bool -> (B, M) bool, a subset of ``present`` (rows that were all False stay so).
    """
    kept = present & (torch.rand(present.shape, device=present.device) >= p)
    emptied = ~kept.any(dim=1) & present.any(dim=1)  # (B,)
    pick = torch.rand(present.shape, device=present.device).masked_fill(~present, -1.0).argmax(dim=1)  # (B,)
    restore = F.one_hot(pick, present.shape[1]).bool() & emptied[:, None]
    return kept | restore


def _scatter(value: Tensor, index: Tensor, batch: int) -> Tensor:
    """Rows ``value`` (B_m, ...) placed at ``index`` of a zero tensor (batch, ...)."""
    out = value.new_zeros((batch, *value.shape[1:]))
    return out.index_copy(0, index, value)


class WeldFusionModel(nn.Module):
    """Multimodal welding monitor.

    Args:
        names: modality names in presence-mask column order (``DataInfo.names``).
        encoders: one :class:`~weldfusion.fusion.encoder_base.Encoder` per name.
        fusion: a fusion module ``(tokens, pooled, present) -> dict``; with ``produces_logits``
            it also returns phase/defect logits (late fusion).
        phase_head, defect_head: heads on the fused embedding (None when the fusion gives logits).
        projection: projection head of the contrastive loss (Eq. 39).
        modality_dropout: training-time probability of dropping each present modality.
        skip_absent: run an encoder only on the samples where its modality is present.
        params_source: index of the modality the process parameters come from (``electrical``);
            params are zeroed where it is absent, so they follow modality dropout too.
        modality_heads: per-modality deep-supervision heads (``modality_heads.py``) or None; their
            logits are returned as ``modality_logits`` in training mode only.
        localisation: modality -> :class:`~weldfusion.fusion.localisation.LocalisationHeads` on the
            feature maps of its MS-STAN encoder, or None.
    """

    def __init__(self, names: tuple[str, ...], encoders: dict[str, nn.Module], fusion: nn.Module,
                 phase_head: nn.Module | None, defect_head: nn.Module | None, projection: nn.Module,
                 modality_dropout: float = 0.0, skip_absent: bool = True, params_source: int | None = None,
                 modality_heads: nn.Module | None = None, localisation: dict[str, nn.Module] | None = None) -> None:
        super().__init__()
        self.names = tuple(names)
        self.encoders = nn.ModuleDict(encoders)
        self.fusion = fusion
        self.phase_head = phase_head
        self.defect_head = defect_head
        self.projection = projection
        self.modality_dropout = modality_dropout
        self.skip_absent = skip_absent
        self.params_source = params_source
        self.modality_heads = modality_heads
        self.localisation = nn.ModuleDict(localisation) if localisation else None

    def forward(self, batch: dict) -> dict:
        """Forward one batch (keys of ``datasets/info.py``).

        Inputs: ``<modality>`` tensors ((B, T, H, W) images, (B, C, S) signals), ``present`` (B, M)
        bool, ``params`` (B, P), ``pair`` (B,) long. Other keys are ignored.

        Returns a dict:
            phase_logits (B, P), phase_probs (B, P), defect_logits (B, D), defect_probs (B, D),
            embedding (B, E), projection (B, P_out) (L2-normalised), modality_weights (B, M),
            present (B, M) (after modality dropout), attention {modality: {name: (B, ...)}}
            (zeros for samples where the modality is absent), aux {term: scalar} (unweighted
            auxiliary losses averaged over the samples where each modality is present, summed
            over encoders).
        """
        present = batch["present"].bool()
        if not bool(present.any(dim=1).all()):
            raise ValueError("every sample needs at least one present modality")
        if self.training and self.modality_dropout > 0:
            present = modality_dropout(present, self.modality_dropout)
        b = present.shape[0]
        params = batch["params"]
        if self.params_source is not None:
            params = torch.where(present[:, self.params_source : self.params_source + 1], params, 0.0)
        pair = batch["pair"].long()

        tokens, pooled, attention, aux, located = {}, {}, {}, {}, {}
        for i, name in enumerate(self.names):
            mask = present[:, i]
            x = batch[name]
            rows = None  # batch rows of the encoder's outputs (None: every row), for the localisation heads
            if self.skip_absent and bool(mask.all()):  # present in every sample (a live monitor's usual hop): no gather/scatter
                out = self.encoders[name](x, params, pair)
                tokens[name], pooled[name], attention[name] = out["tokens"], out["pooled"], out["attention"]
                terms = {k: v.mean() if v.dim() else v for k, v in out["aux"].items()}
            elif self.skip_absent:
                index = mask.nonzero().squeeze(1)
                if index.numel() == 0:
                    tokens[name] = x.new_zeros(b, 1, self.fusion_dim)
                    pooled[name] = x.new_zeros(b, self.fusion_dim)
                    continue
                out = self.encoders[name](x.index_select(0, index), params.index_select(0, index),
                                          pair.index_select(0, index))
                rows = index
                tokens[name] = _scatter(out["tokens"], index, b)
                pooled[name] = _scatter(out["pooled"], index, b)
                attention[name] = {k: _scatter(v, index, b) for k, v in out["attention"].items()}
                terms = {k: v.mean() if v.dim() else v for k, v in out["aux"].items()}
            else:
                out = self.encoders[name](x, params, pair)
                tokens[name], pooled[name] = out["tokens"], out["pooled"]
                attention[name] = {k: torch.where(mask.view(-1, *[1] * (v.dim() - 1)), v, torch.zeros_like(v))
                                   for k, v in out["attention"].items()}
                count = mask.sum().clamp_min(1)
                terms = {k: torch.where(mask, v, 0.0).sum() / count if v.dim() else v for k, v in out["aux"].items()}
            for k, v in terms.items():
                aux[k] = aux[k] + v if k in aux else v
            if self.localisation is not None and name in self.localisation:
                # the encoder ran on every row when rows is None (all present, or static shapes for export):
                # predictions for every row, flagged valid where the modality is present
                valid = mask if rows is None else torch.ones_like(rows, dtype=torch.bool)
                rows = torch.arange(b, device=x.device) if rows is None else rows
                located[name] = self.localisation[name](out["maps"], rows, out["attention"]["frame_index"], valid, x,
                                                        out["attention"].get("temporal"))

        fused = self.fusion(tokens, pooled, present)
        emb = fused["embedding"]
        if getattr(self.fusion, "produces_logits", False):
            phase_logits, defect_logits = fused["phase_logits"], fused["defect_logits"]
        else:
            phase_logits, defect_logits = self.phase_head(emb), self.defect_head(emb)
        out = prediction_dict(phase_logits, defect_logits, emb, self.projection(emb), fused["modality_weights"],
                              present, attention, aux)
        if self.training and self.modality_heads is not None:
            out["modality_logits"] = self.modality_heads(pooled)  # {m: ((B, P), (B, D))}, rows valid where present
        if located:
            out["localisation"] = located
        return out

    @property
    def fusion_dim(self) -> int:
        """Token size D shared by encoders and fusion."""
        return next(iter(self.encoders.values())).dim
