"""One-to-one matching of predicted boxes to target boxes (the Hungarian matcher of DETR).

For one frame: Q predictions (class logits over C classes + "no object", boxes) and K targets.
The cost of pairing prediction q with target k is

    w_class * (-p_q(class_k)) + w_l1 * |box_q - box_k|_1 + w_giou * (-GIoU(box_q, box_k))

and ``scipy.optimize.linear_sum_assignment`` picks the pairing of least total cost; the Q - K
predictions left over are "no object". No proposals, no NMS.
"""

from __future__ import annotations

import numpy as np
import torch
from scipy.optimize import linear_sum_assignment
from torch import Tensor
from torchvision.ops import box_convert


def cxcywh_to_xyxy(boxes: Tensor) -> Tensor:
    """(N, 4) (cx, cy, w, h) -> (N, 4) (x0, y0, x1, y1), same units."""
    return box_convert(boxes, "cxcywh", "xyxy")


@torch.no_grad()
def hungarian_match(logits: Tensor, boxes: Tensor, target_labels: Tensor, target_boxes: Tensor, *,
                    w_class: float = 1.0, w_l1: float = 5.0, w_giou: float = 2.0) -> tuple[np.ndarray, np.ndarray]:
    """Indices ``(queries, targets)`` of the least-cost one-to-one pairing of one frame.

    Args:
        logits: (Q, C + 1) class logits, the last column "no object".
        boxes: (Q, 4) predicted (cx, cy, w, h) in [0, 1].
        target_labels: (K,) long class indices in [0, C); target_boxes: (K, 4) (cx, cy, w, h) in [0, 1].
    Returns:
        two int arrays of length min(Q, K): query q_i is matched to target k_i.
    """
    return batch_match(logits[None], boxes[None], [{"labels": target_labels, "boxes": target_boxes}],
                       w_class=w_class, w_l1=w_l1, w_giou=w_giou)[0]


def _pairwise_giou(a: Tensor, b: Tensor) -> Tensor:
    """GIoU of every box pair per frame: a (F, Q, 4), b (F, K, 4) (x0, y0, x1, y1) -> (F, Q, K)
    (torchvision's ``generalized_box_iou``, which takes one frame, batched over frames; the tests
    hold it to torchvision's)."""
    a, b = a[:, :, None], b[:, None]
    area_a = (a[..., 2] - a[..., 0]) * (a[..., 3] - a[..., 1])
    area_b = (b[..., 2] - b[..., 0]) * (b[..., 3] - b[..., 1])
    wh = (torch.minimum(a[..., 2:], b[..., 2:]) - torch.maximum(a[..., :2], b[..., :2])).clamp_min(0)
    inter = wh[..., 0] * wh[..., 1]
    union = area_a + area_b - inter
    hull = (torch.maximum(a[..., 2:], b[..., 2:]) - torch.minimum(a[..., :2], b[..., :2])).clamp_min(0)
    hull_area = hull[..., 0] * hull[..., 1]
    return inter / union - (hull_area - union) / hull_area


@torch.no_grad()
def batch_match(logits: Tensor, boxes: Tensor, targets: list[dict], *, w_class: float = 1.0, w_l1: float = 5.0,
                w_giou: float = 2.0) -> list[tuple[np.ndarray, np.ndarray]]:
    """:func:`hungarian_match` of every frame of a batch (the one cost of the module docstring), the
    costs of all frames computed at once on targets padded to the largest K (then one
    ``linear_sum_assignment`` per frame).

    logits: (F, Q, C + 1); boxes: (F, Q, 4); targets: per frame ``{"labels": (K_f,), "boxes": (K_f, 4)}``.
    Returns per frame the ``(queries, targets)`` index arrays.
    """
    f, q = logits.shape[:2]
    sizes = [len(t["labels"]) for t in targets]
    empty = np.zeros(0, dtype=np.int64)
    k_max = max(sizes, default=0)
    if k_max == 0:
        return [(empty, empty) for _ in range(f)]
    labels = logits.new_zeros((f, k_max), dtype=torch.long)
    tboxes = logits.new_full((f, k_max, 4), 0.5)  # padding: any valid box, its columns are never used
    for i, t in enumerate(targets):
        labels[i, : sizes[i]] = t["labels"]
        tboxes[i, : sizes[i]] = t["boxes"].float()
    prob = logits.float().softmax(-1)  # (F, Q, C + 1)
    pboxes = boxes.float()
    cost_class = -torch.gather(prob, 2, labels[:, None, :].expand(f, q, k_max))  # (F, Q, K)
    cost_l1 = (pboxes[:, :, None] - tboxes[:, None]).abs().sum(-1)
    cost_giou = -_pairwise_giou(cxcywh_to_xyxy(pboxes.reshape(-1, 4)).view(f, q, 4),
                                cxcywh_to_xyxy(tboxes.reshape(-1, 4)).view(f, k_max, 4))
    cost = (w_class * cost_class + w_l1 * cost_l1 + w_giou * cost_giou).cpu().numpy()
    out = []
    for i, k in enumerate(sizes):
        if k == 0:
            out.append((empty, empty))
            continue
        qi, ki = linear_sum_assignment(cost[i, :, :k])
        out.append((qi.astype(np.int64), ki.astype(np.int64)))
    return out
