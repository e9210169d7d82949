"""The pieces of the localisation head of issue 15 that do not depend on the model: Hungarian
matching, the set loss (a head trained with it fits its targets) and COCO AP through pycocotools."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from weldfusion.fusion.detection.loss import set_loss
from weldfusion.fusion.detection.matcher import hungarian_match
from weldfusion.tools.training.localisation import coco_ap


def _logits(classes, n_classes, confident=8.0):
    out = torch.zeros(len(classes), n_classes + 1)
    out[torch.arange(len(classes)), torch.as_tensor(classes)] = confident
    return out


def test_matcher_finds_the_permutation_and_leaves_extra_queries_unmatched():
    targets = torch.tensor([[0.2, 0.2, 0.1, 0.1], [0.7, 0.5, 0.2, 0.3], [0.5, 0.8, 0.1, 0.05]])
    labels = torch.tensor([0, 2, 1])
    order = [4, 0, 2]  # query 4 predicts target 0, query 0 target 1, query 2 target 2
    boxes = torch.rand(5, 4) * 0.2 + 0.4
    boxes[order] = targets
    cls = [3, 3, 3, 3, 3]
    for q, k in zip(order, range(3), strict=True):
        cls[q] = int(labels[k])
    q, k = hungarian_match(_logits(cls, 3), boxes, labels, targets)
    assert dict(zip(k.tolist(), q.tolist(), strict=True)) == {0: 4, 1: 0, 2: 2}
    q, k = hungarian_match(_logits(cls, 3), boxes, labels[:0], targets[:0])
    assert len(q) == len(k) == 0


def test_set_loss_is_small_for_a_perfect_answer_and_trains_a_head_to_its_targets():
    torch.manual_seed(0)
    targets = [{"labels": torch.tensor([1, 0]), "boxes": torch.tensor([[0.3, 0.3, 0.2, 0.2], [0.7, 0.6, 0.1, 0.3]])},
               {"labels": torch.tensor([2]), "boxes": torch.tensor([[0.5, 0.5, 0.4, 0.2]])}]
    perfect_boxes = torch.full((2, 4, 4), 0.5)
    perfect_boxes[0, :2] = targets[0]["boxes"]
    perfect_boxes[1, :1] = targets[1]["boxes"]
    perfect = torch.stack([_logits([1, 0, 3, 3], 3, 20.0), _logits([2, 3, 3, 3], 3, 20.0)])
    terms = set_loss(perfect, perfect_boxes, targets)
    assert set(terms) == {"det_class", "det_l1", "det_giou"}
    assert all(float(v) < 1e-4 for v in terms.values())
    # a free set of 4 queries per sample, fitted by gradient descent on the set loss alone
    logits = torch.zeros(2, 4, 4, requires_grad=True)
    raw = torch.zeros(2, 4, 4, requires_grad=True)
    opt = torch.optim.Adam([logits, raw], lr=0.05)
    first = None
    for _ in range(300):
        terms = set_loss(logits, raw.sigmoid(), targets)
        total = terms["det_class"] + 5 * terms["det_l1"] + 2 * terms["det_giou"]
        first = total.item() if first is None else first
        opt.zero_grad()
        total.backward()
        opt.step()
    assert total.item() < 0.05 * first and terms["det_l1"].item() < 0.02
    pred_cls = logits.argmax(-1)
    assert sorted(pred_cls[0].tolist()) == [0, 1, 3, 3] and sorted(pred_cls[1].tolist()) == [2, 3, 3, 3]


CLASSES = ("arc", "pool", "pore")


def test_coco_ap_perfect_shifted_missed_and_out_of_order():
    gt = [np.array([[0, 10, 10, 30, 30], [1, 5, 40, 60, 60]], float), np.array([[0, 12, 8, 28, 34]], float)]
    perfect = [np.array([[c, 0.9, *b] for c, *b in g]) for g in gt]
    m = coco_ap(list(zip(gt, perfect, strict=True)), CLASSES, 64, 64)
    assert m["localisation.map50"] == pytest.approx(1.0) and m["localisation.map"] == pytest.approx(1.0)
    assert "localisation.ap50.pore" not in m  # no ground truth: no entry
    half = [np.array([[c, 0.9, b[0] + (b[2] - b[0]) / 2, b[1], b[2] + (b[2] - b[0]) / 2, b[3]] for c, *b in g]) for g in gt]
    m = coco_ap(list(zip(gt, half, strict=True)), CLASSES, 64, 64)  # IoU 1/3: below 0.5
    assert m["localisation.ap50.arc"] == pytest.approx(0.0) and m["localisation.map"] < 0.1
    missed = [p[p[:, 0] != 1] for p in perfect]
    m = coco_ap(list(zip(gt, missed, strict=True)), CLASSES, 64, 64)
    assert m["localisation.ap50.arc"] == pytest.approx(1.0) and m["localisation.ap50.pool"] == 0.0
    decoy = [np.concatenate([perfect[0], [[0, 0.99, 40, 40, 50, 50]]]), perfect[1]]  # a confident false arc ranked first
    m = coco_ap(list(zip(gt, decoy, strict=True)), CLASSES, 64, 64)
    assert 0.5 < m["localisation.ap50.arc"] < 1.0
    assert coco_ap([(gt[0], np.zeros((0, 6)))], CLASSES, 64, 64)["localisation.map50"] == 0.0


def test_batch_match_is_the_per_frame_matching():
    from weldfusion.fusion.detection.matcher import batch_match

    g = torch.Generator().manual_seed(3)
    frames, queries = 40, 6
    logits = torch.randn(frames, queries, len(CLASSES) + 1, generator=g)
    boxes = torch.rand(frames, queries, 4, generator=g) * 0.5 + 0.25
    targets = []
    for _ in range(frames):
        k = int(torch.randint(0, 5, (1,), generator=g))
        targets.append({"labels": torch.randint(0, len(CLASSES), (k,), generator=g),
                        "boxes": torch.rand(k, 4, generator=g) * 0.5 + 0.25})
    batched = batch_match(logits, boxes, targets)
    assert len(batched) == frames and any(len(q) for q, _ in batched) and any(not len(q) for q, _ in batched)
    for i, (q, k) in enumerate(batched):
        q1, k1 = hungarian_match(logits[i], boxes[i], targets[i]["labels"], targets[i]["boxes"])
        np.testing.assert_array_equal(q, q1)
        np.testing.assert_array_equal(k, k1)
    from torchvision.ops import box_convert, generalized_box_iou
    from weldfusion.fusion.detection.matcher import _pairwise_giou

    a = box_convert(boxes, "cxcywh", "xyxy")
    b = box_convert(torch.rand(frames, 5, 4, generator=g) * 0.5 + 0.25, "cxcywh", "xyxy")
    torch.testing.assert_close(_pairwise_giou(a, b), torch.stack([generalized_box_iou(x, y) for x, y in zip(a, b)]))
