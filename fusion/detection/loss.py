"""The set loss of a box head (DETR): class cross-entropy over every query (matched queries to
their target's class, the others to "no object", down-weighted by ``no_object_weight``), and L1
plus generalised-IoU loss on the matched boxes, averaged over the targets of the batch.
Loss terms are returned by name (``det_class``, ``det_l1``, ``det_giou``), unweighted; the recipe
weighs them like every other term.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor
from torchvision.ops import generalized_box_iou_loss
from weldfusion.fusion.detection.matcher import batch_match, cxcywh_to_xyxy


def set_loss(logits: Tensor, boxes: Tensor, targets: list[dict], *, no_object_weight: float = 0.1,
             match_weights: dict | None = None) -> dict[str, Tensor]:
    """Loss terms of one batch.

    Args:
        logits: (B, Q, C + 1) class logits (last column "no object"); boxes: (B, Q, 4) (cx, cy, w, h) in [0, 1].
        targets: per sample ``{"labels": (K,) long, "boxes": (K, 4) (cx, cy, w, h) in [0, 1]}``.
        match_weights: ``w_class``, ``w_l1``, ``w_giou`` of :func:`~.matcher.hungarian_match`.
    Returns:
        ``{"det_class": (), "det_l1": (), "det_giou": ()}``.
    """
    b, q, c1 = logits.shape
    if len(targets) != b:
        raise ValueError(f"{len(targets)} target sets for a batch of {b}")
    classes = torch.full((b, q), c1 - 1, dtype=torch.long, device=logits.device)  # "no object" by default
    pred, tgt = [], []
    matches = batch_match(logits, boxes, targets, **(match_weights or {}))
    for i, (t, (qi, ki)) in enumerate(zip(targets, matches, strict=True)):
        qi, ki = torch.as_tensor(qi, device=logits.device), torch.as_tensor(ki, device=logits.device)
        classes[i, qi] = t["labels"][ki]
        pred.append(boxes[i, qi])
        tgt.append(t["boxes"][ki])
    weight = torch.ones(c1, device=logits.device)
    weight[-1] = no_object_weight
    det_class = F.cross_entropy(logits.reshape(b * q, c1), classes.reshape(-1), weight=weight)
    n = max(sum(len(t["labels"]) for t in targets), 1)
    pred_boxes, tgt_boxes = torch.cat(pred), torch.cat(tgt)
    if len(pred_boxes) == 0:
        zero = boxes.sum() * 0.0
        return {"det_class": det_class, "det_l1": zero, "det_giou": zero}
    det_l1 = F.l1_loss(pred_boxes, tgt_boxes, reduction="sum") / n
    det_giou = generalized_box_iou_loss(cxcywh_to_xyxy(pred_boxes), cxcywh_to_xyxy(tgt_boxes), reduction="sum") / n
    return {"det_class": det_class, "det_l1": det_l1, "det_giou": det_giou}
