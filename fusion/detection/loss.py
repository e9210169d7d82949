"""The set loss of a box head (DETR): class cross-entropy over every query (matched queries to
their target's class, the others to "no object", down-weighted by ``no_object_weight``), and L1
plus generalised-IoU loss on the matched boxes, averaged over the targets of the batch.
Loss terms are returned by name (``det_class``, ``det_l1``, ``det_giou``), unweighted; the recipe
weighs them like every other term. :func:`seed_loss` trains the token scores and proposals of a head
with seeded queries (``det_seed_class``, ``det_seed_l1``, ``det_seed_giou``).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor
from torchvision.ops import generalized_box_iou_loss, sigmoid_focal_loss
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


def seed_loss(logits: Tensor, boxes: Tensor, levels: tuple[tuple[int, int], ...], targets: Tensor) -> dict[str, Tensor]:
    """Dense loss of the memory tokens' class scores and box proposals (seeded queries, ``head.py``).

    Every target is a positive of the token whose cell holds its centre, on every level (a 2x2-pixel
    pore has one cell per level, the pool as well): sigmoid focal loss (alpha 0.25, gamma 2, the
    one-stage detectors' answer to a frame of mostly empty cells) over every token and class, and L1
    plus GIoU of those tokens' proposals; each summed and divided by the number of positives.

    Args:
        logits: (F, N, C) token class logits; boxes: (F, N, 4) token proposals (cx, cy, w, h) in [0, 1];
        levels: (h_i, w_i) of the levels, N = sum h_i w_i in that order (rows then columns);
        targets: (F, K, 5) ``[class, cx, cy, w, h]`` per frame, class -1 = padding.
    Returns:
        ``{"det_seed_class": (), "det_seed_l1": (), "det_seed_giou": ()}``.
    """
    frame, k = (targets[..., 0] >= 0).nonzero(as_tuple=True)
    label = targets[frame, k, 0].long()
    tbox = targets[frame, k, 1:].float()
    cls_target = torch.zeros_like(logits)
    cells, offset = [], 0
    for h, w in levels:
        iy = (tbox[:, 1] * h).long().clamp(0, h - 1)
        ix = (tbox[:, 0] * w).long().clamp(0, w - 1)
        cells.append(offset + iy * w + ix)
        offset += h * w
    if offset != logits.shape[1]:
        raise ValueError(f"levels {levels} hold {offset} tokens, the predictions {logits.shape[1]}")
    n_pos = max(len(frame) * len(levels), 1)
    cell = torch.cat(cells)
    frames, labels, tboxes = frame.repeat(len(levels)), label.repeat(len(levels)), tbox.repeat(len(levels), 1)
    cls_target[frames, cell, labels] = 1.0
    seed_class = sigmoid_focal_loss(logits, cls_target, alpha=0.25, gamma=2.0, reduction="sum") / n_pos
    if len(frames) == 0:
        zero = boxes.sum() * 0.0
        return {"det_seed_class": seed_class, "det_seed_l1": zero, "det_seed_giou": zero}
    pred = boxes[frames, cell]
    seed_l1 = F.l1_loss(pred, tboxes, reduction="sum") / n_pos
    seed_giou = generalized_box_iou_loss(cxcywh_to_xyxy(pred), cxcywh_to_xyxy(tboxes), reduction="sum") / n_pos
    return {"det_seed_class": seed_class, "det_seed_l1": seed_l1, "det_seed_giou": seed_giou}
