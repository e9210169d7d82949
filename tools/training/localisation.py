"""COCO-style average precision of predicted boxes (pycocotools, not a hand-written AP).

Input per image: the ground-truth boxes ``(K, 5)`` ``[class, x0, y0, x1, y1]`` and the predicted
boxes ``(P, 6)`` ``[class, score, x0, y0, x1, y1]``, in pixels (the rows of ``/truth/*_boxes``
without their frame column). ``pycocotools.cocoeval.COCOeval`` matches them per class at IoU
0.50:0.05:0.95 (up to 100 detections an image); the keys are the metrics of issue 15:
``localisation.ap50.<class>``, ``localisation.ap.<class>`` (AP@[0.5:0.95]),
``localisation.map50`` and ``localisation.map`` (means over the classes that have ground truth;
a class without ground truth gets no entry).
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Sequence

import numpy as np


def coco_ap(images: Sequence[tuple[np.ndarray, np.ndarray]], classes: Sequence[str], width: int, height: int) -> dict:
    """AP metrics of ``images`` (see the module docstring) for frames of ``width`` x ``height`` px."""
    from pycocotools.coco import COCO  # lazy: COCO tooling only where boxes are scored
    from pycocotools.cocoeval import COCOeval  # lazy: as above

    gt_anns, dets = [], []
    for i, (gt, pred) in enumerate(images):
        for c, x0, y0, x1, y1 in np.asarray(gt, dtype=np.float64).reshape(-1, 5):
            gt_anns.append({"id": len(gt_anns) + 1, "image_id": i + 1, "category_id": int(c) + 1,
                            "bbox": [x0, y0, x1 - x0, y1 - y0], "area": (x1 - x0) * (y1 - y0), "iscrowd": 0})
        for c, s, x0, y0, x1, y1 in np.asarray(pred, dtype=np.float64).reshape(-1, 6):
            dets.append({"image_id": i + 1, "category_id": int(c) + 1, "bbox": [x0, y0, x1 - x0, y1 - y0],
                         "score": float(s)})
    dataset = {"info": {"description": "weldfusion localisation"},
               "images": [{"id": i + 1, "width": int(width), "height": int(height)} for i in range(len(images))],
               "annotations": gt_anns,
               "categories": [{"id": k + 1, "name": name} for k, name in enumerate(classes)]}
    with_gt = sorted({a["category_id"] - 1 for a in gt_anns})
    out: dict = {}
    if not with_gt:
        return out
    if not dets:
        ap50 = ap = {k: 0.0 for k in with_gt}
    else:
        with contextlib.redirect_stdout(io.StringIO()):  # pycocotools prints its progress
            gt = COCO()
            gt.dataset = dataset
            gt.createIndex()
            ev = COCOeval(gt, gt.loadRes(dets), "bbox")
            ev.evaluate()
            ev.accumulate()
        precision = ev.eval["precision"]  # (T IoUs, R recalls, K classes, A areas, M max-dets)
        ap50, ap = {}, {}
        for k in with_gt:
            p = precision[:, :, k, 0, -1]  # all areas, 100 detections
            per_iou = [float(row[row > -1].mean()) if (row > -1).any() else 0.0 for row in p]
            ap50[k], ap[k] = per_iou[0], float(np.mean(per_iou))
    for k in with_gt:
        out[f"localisation.ap50.{classes[k]}"] = ap50[k]
        out[f"localisation.ap.{classes[k]}"] = ap[k]
    out["localisation.map50"] = float(np.mean([ap50[k] for k in with_gt]))
    out["localisation.map"] = float(np.mean([ap[k] for k in with_gt]))
    return out
