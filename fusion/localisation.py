"""The localisation heads of one image modality and their loss terms (issue 15).

:class:`LocalisationHeads` sits on the MS-STAN feature maps of its modality (``maps`` of
:meth:`~weldfusion.fusion.msstan.model.MSSTAN.forward`): the box head (``detection/head.py``)
and the motion-segmentation head (``motion_segmentation.py``), each optional. The model runs it on
the batch rows where the modality is present and returns ``outputs["localisation"][<modality>]``::

    rows (B_m,) long            batch rows the predictions belong to (T' below: every kept frame in
                                training, the strongest one in eval unless ``all_frames``)
    valid (B_m,) bool           the modality is present in that row (all True unless the encoder
                                ran on every row, ``skip_absent: false``)
    frame_index (B_m, T') long  window frame of each kept frame
    det_logits (B_m, T', Q, C + 1), det_boxes (B_m, T', Q, 4)   with the box head (Q: learned + seeded queries)
    det_seed {"logits", "boxes", "levels"}                       with seeded queries: the token predictions
    motion_logits (B_m, T', H, W)                                with the motion head, in training
                                                                 (or when ``motion_in_eval``)

:func:`localisation_terms` turns these and the window targets (``<m>_boxes``, ``<m>_motion``,
``datasets/localisation_truth.py``) into the loss terms ``det_class``, ``det_l1``, ``det_giou``
(``det_seed_class``, ``det_seed_l1``, ``det_seed_giou`` with seeded queries) and ``motion``; frames of
recordings without truth are left out.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn
from weldfusion.fusion.detection.head import DetectionHead
from weldfusion.fusion.detection.loss import seed_loss, set_loss
from weldfusion.fusion.motion_segmentation import MotionHead, motion_loss


def select_frames(x: Tensor, rows: Tensor, frame_index: Tensor) -> Tensor:
    """Targets of the kept frames: x (B, T, ...) at ``rows`` (B_m,) and ``frame_index`` (B_m, T') -> (B_m, T', ...)."""
    picked = x.index_select(0, rows)  # (B_m, T, ...)
    idx = frame_index.reshape(*frame_index.shape, *[1] * (picked.dim() - 2)).expand(-1, -1, *picked.shape[2:])
    return torch.gather(picked, 1, idx)


class PixelStem(nn.Module):
    """A fine feature level from the kept frames themselves: two stride-2 3x3 convolutions,
    (B, T', H, W) -> (B, T', H / 4, W / 4, c). MS-STAN's patch grid (8 px patches in the demo recipe)
    is coarser than a pore or a spatter particle (2-3 px on 64 px frames)."""

    def __init__(self, dim: int = 24) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Conv2d(1, dim // 2, 3, stride=2, padding=1), nn.GELU(),
                                 nn.Conv2d(dim // 2, dim, 3, stride=2, padding=1), nn.GELU())
        self.dim = dim

    def forward(self, frames: Tensor) -> Tensor:
        b, t, h, w = frames.shape
        y = self.net(frames.reshape(b * t, 1, h, w))  # (B T', c, H/4, W/4)
        return y.permute(0, 2, 3, 1).reshape(b, t, *y.shape[2:], self.dim)


class LocalisationHeads(nn.Module):
    """Box and / or motion head of one image modality.

    Args:
        in_dims: channels of MS-STAN's feature levels (patch embedding c0, conv maps d).
        frame_hw: (H, W) of the window frames (the motion head's output size).
        n_classes: box classes; detection, motion: which heads; the rest sizes the box head.
        pixel_level: add a fine level from the kept frames (:class:`PixelStem`) to both heads.
        all_frames: in eval mode, predict on every kept frame; False: on the kept frame of highest
            temporal attention only (``T' = 1``; the window's strongest frame, what ``stream`` and
            ``predict`` show, at an eighth of the decoder's cost). Training always uses every kept frame.
    """

    def __init__(self, in_dims: Sequence[int], frame_hw: tuple[int, int], n_classes: int, *, detection: bool,
                 motion: bool, queries: int = 16, layers: int = 2, heads: int = 4, dim: int = 64,
                 motion_at_inference: bool = False, pixel_level: bool = True, all_frames: bool = False,
                 seeded: int = 0) -> None:
        super().__init__()
        self.stem = PixelStem() if pixel_level else None
        dims = ((self.stem.dim,) if self.stem is not None else ()) + tuple(in_dims)
        self.detection = DetectionHead(dims, n_classes, queries, layers, heads, dim, seeded) if detection else None
        self.motion = MotionHead(dims, frame_hw) if motion else None
        self.motion_in_eval = motion_at_inference
        self.all_frames = all_frames

    def forward(self, maps: Sequence[Tensor], rows: Tensor, frame_index: Tensor, valid: Tensor,
                frames: Tensor | None = None, temporal: Tensor | None = None) -> dict:
        """maps: (B_m, T', h_i, w_i, c_i) per level; rows, valid (B_m,); frame_index (B_m, T');
        frames: the encoder's input (B, T, H, W) (the pixel level reads the kept frames of ``rows``);
        temporal: (B_m, T') temporal attention (picks the strongest frame) -> see the module docstring."""
        if not self.training and not self.all_frames and temporal is not None:
            pick = temporal.argmax(dim=1)  # (B_m,)
            batch_rows = torch.arange(pick.shape[0], device=pick.device)
            maps = [m[batch_rows, pick][:, None] for m in maps]  # (B_m, 1, h_i, w_i, c_i); exports as Gather
            frame_index = frame_index[batch_rows, pick][:, None]
        if self.stem is not None:
            picked = frames.index_select(0, rows)  # (B_m, T, H, W)
            index = frame_index[:, :, None, None].expand(-1, -1, *picked.shape[2:])  # a full index: ONNX gathers do not broadcast
            kept = torch.gather(picked, 1, index)  # (B_m, T', H, W)
            maps = (self.stem(kept), *maps)  # finest first
        out = {"rows": rows, "frame_index": frame_index, "valid": valid}
        if self.detection is not None:
            out["det_logits"], out["det_boxes"], dense = self.detection(maps)
            if dense is not None:
                out["det_seed"] = dense
        if self.motion is not None and (self.training or self.motion_in_eval):
            out["motion_logits"] = self.motion(maps)
        return out


def box_modality(model: nn.Module) -> str | None:
    """The image modality whose localisation heads include the box head, or None (no box head)."""
    heads = getattr(model, "localisation", None)
    return next((m for m, h in heads.items() if h.detection is not None), None) if heads else None


def frame_targets(boxes: Tensor) -> list[dict]:
    """(N, K, 5) ``[class, cx, cy, w, h]`` rows (class -1 = padding) -> per frame ``{"labels", "boxes"}``."""
    out = []
    for frame in boxes:
        keep = frame[:, 0] >= 0
        out.append({"labels": frame[keep, 0].long(), "boxes": frame[keep, 1:]})
    return out


def localisation_terms(pred: dict, batch: dict, modality: str, *, no_object_weight: float,
                       match_weights: dict) -> dict[str, Tensor]:
    """Loss terms of one modality's heads (unweighted): ``det_class``, ``det_l1``, ``det_giou``, the
    ``det_seed_*`` terms with seeded queries, ``motion``."""
    rows, fi = pred["rows"], pred["frame_index"]
    terms: dict[str, Tensor] = {}
    if "det_logits" in pred:
        logits, boxes = pred["det_logits"], pred["det_boxes"]
        has = batch[f"{modality}_has_boxes"].to(rows.device).index_select(0, rows) & pred["valid"]  # (B_m,)
        target = select_frames(batch[f"{modality}_boxes"].to(rows.device), rows, fi)  # (B_m, T', K, 5)
        q, c1 = logits.shape[-2:]
        logits, boxes, target = logits[has].reshape(-1, q, c1), boxes[has].reshape(-1, q, 4), target[has].flatten(0, 1)
        if logits.shape[0]:
            terms.update(set_loss(logits, boxes, frame_targets(target), no_object_weight=no_object_weight,
                                  match_weights=match_weights))
        else:
            zero = pred["det_logits"].sum() * 0.0
            terms.update(det_class=zero, det_l1=zero, det_giou=zero)
        if "det_seed" in pred:
            seed = pred["det_seed"]
            n, c = seed["logits"].shape[-2:]
            terms.update(seed_loss(seed["logits"][has].reshape(-1, n, c), seed["boxes"][has].reshape(-1, n, 4),
                                   seed["levels"], target))
    if "motion_logits" in pred:
        logits = pred["motion_logits"]
        has = batch[f"{modality}_has_motion"].to(rows.device).index_select(0, rows) & pred["valid"]
        target = select_frames(batch[f"{modality}_motion"].to(rows.device), rows, fi)  # (B_m, T', H, W)
        terms["motion"] = motion_loss(logits[has].flatten(0, 1), target[has].flatten(0, 1))
    return terms
