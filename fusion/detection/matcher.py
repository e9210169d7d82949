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
from torchvision.ops import box_convert, generalized_box_iou


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
    if target_labels.numel() == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    prob = logits.float().softmax(-1)  # (Q, C + 1)
    cost_class = -prob[:, target_labels]  # (Q, K)
    cost_l1 = torch.cdist(boxes.float(), target_boxes.float(), p=1)  # (Q, K)
    cost_giou = -generalized_box_iou(cxcywh_to_xyxy(boxes.float()), cxcywh_to_xyxy(target_boxes.float()))
    cost = w_class * cost_class + w_l1 * cost_l1 + w_giou * cost_giou
    q, k = linear_sum_assignment(cost.cpu().numpy())
    return q.astype(np.int64), k.astype(np.int64)
