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
import torch
from torch import Tensor
from weldfusion.datasets.resample import window_grid
from weldfusion.fusion.localisation import select_frames
from weldfusion.fusion.motion_segmentation import motion_iou
from weldfusion.sensors.boxes import CLASSES as BOX_CLASSES


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


@contextlib.contextmanager
def every_frame(model, modality: str, motion: bool = False):
    """Within: the localisation heads of ``modality`` predict on every kept frame (and run the motion head)."""
    heads = model.localisation[modality]
    before = heads.all_frames, heads.motion_in_eval
    heads.all_frames, heads.motion_in_eval = True, motion or heads.motion_in_eval
    try:
        yield heads
    finally:
        heads.all_frames, heads.motion_in_eval = before


def nested(flat: dict) -> dict:
    """``{"localisation.ap50.arc": v, ...}`` -> ``{"localisation": {"ap50": {"arc": v}, ...}}`` (metrics.json layout)."""
    out: dict = {}
    for key, value in flat.items():
        node = out
        *parents, leaf = key.split(".")
        for p in parents:
            node = node.setdefault(p, {})
        node[leaf] = value
    return out


class LocalisationScorer:
    """Collects the localisation heads' output over the batches of :func:`~.predict.predict` (its
    ``on_batch``) and scores them: COCO AP of the boxes of every kept frame with truth
    (:func:`coco_ap`, window-frame pixels) and the pixel IoU of the motion masks
    (``motion_segmentation.iou``: intersection over union summed over every scored frame).

    Use ``with scorer.all_heads_on(model):`` around the pass so that the auxiliary motion head runs
    and the box head predicts on every kept frame (not only the strongest).
    """

    def __init__(self, modality: str, classes: Sequence[str]) -> None:
        self.modality, self.classes = modality, tuple(classes)
        self.images: list[tuple[np.ndarray, np.ndarray]] = []
        self.inter = self.union = self.motion_frames = 0
        self.frame_hw: tuple[int, int] | None = None

    @contextlib.contextmanager
    def all_heads_on(self, model):
        with every_frame(model, self.modality, motion=True):
            yield self

    def __call__(self, batch: dict, outputs: dict) -> None:
        pred = outputs.get("localisation", {}).get(self.modality)
        if pred is None:
            return
        h, w = batch[self.modality].shape[-2:]
        self.frame_hw = (int(h), int(w))
        rows, fi = pred["rows"], pred["frame_index"]
        if "det_logits" in pred:
            has = (batch[f"{self.modality}_has_boxes"].index_select(0, rows) & pred["valid"]).cpu().numpy()
            truth = select_frames(batch[f"{self.modality}_boxes"], rows, fi).float().cpu().numpy()  # (B_m, T', K, 5)
            dets = box_rows(pred["det_logits"], pred["det_boxes"])  # (B_m, T', Q, 6), box in [0, 1]
            dets[..., 2:6] *= np.array([w, h, w, h], dtype=dets.dtype)  # -> window-frame px
            for i in np.flatnonzero(has):
                for t in range(truth.shape[1]):
                    g = truth[i, t][truth[i, t, :, 0] >= 0]
                    c, cx, cy, bw, bh = g.T
                    gt = np.stack([c, (cx - bw / 2) * w, (cy - bh / 2) * h, (cx + bw / 2) * w, (cy + bh / 2) * h], 1)
                    self.images.append((gt, dets[i, t]))
        if "motion_logits" in pred:
            has = batch[f"{self.modality}_has_motion"].index_select(0, rows) & pred["valid"]
            truth = select_frames(batch[f"{self.modality}_motion"], rows, fi)
            i, u = motion_iou(pred["motion_logits"][has], truth[has])
            self.inter, self.union = self.inter + i, self.union + u
            self.motion_frames += int(has.sum()) * int(fi.shape[1])

    def metrics(self) -> dict:
        """``{"localisation": {"ap50": {class: v}, "ap": {...}, "map50", "map", "frames", "modality"},
        "motion_segmentation": {"iou", "frames"}}`` (the parts whose head ran)."""
        out: dict = {}
        if self.images and self.frame_hw is not None:
            out = nested(coco_ap(self.images, self.classes, self.frame_hw[1], self.frame_hw[0]))
            out.setdefault("localisation", {}).update(frames=len(self.images), modality=self.modality)
        if self.motion_frames:
            out["motion_segmentation"] = {"iou": self.inter / self.union if self.union else 1.0,
                                          "frames": self.motion_frames}
        return out


def localisation_scorer(trained) -> LocalisationScorer | None:
    """A :class:`LocalisationScorer` for a trained model with localisation heads, else None."""
    heads = getattr(trained.model, "localisation", None)
    if not heads:
        return None
    return LocalisationScorer(next(iter(heads.keys())), BOX_CLASSES)


#: Least score of a predicted box that the weld results (predict's events) and stream's rows carry.
BOX_SCORE = 0.5


def box_rows(det_logits: Tensor, det_boxes: Tensor) -> np.ndarray:
    """(..., Q, C + 1) class logits and (..., Q, 4) boxes (cx, cy, w, h) -> (..., Q, 6) ``[class, score,
    x0, y0, x1, y1]`` (box in [0, 1] of the frame; score: the query's highest class probability,
    "no object" left out)."""
    score, cls = torch.as_tensor(det_logits).float().softmax(-1)[..., :-1].max(-1)
    cx, cy, bw, bh = torch.as_tensor(det_boxes).float().unbind(-1)
    return torch.stack([cls.float(), score, cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2], -1).cpu().numpy()


def window_boxes(outputs: dict, batch: dict, window_s: float) -> dict[float, tuple[np.ndarray, np.ndarray]]:
    """The box head's predictions per window of a batch: ``{t0 (rounded to 1 µs): (frame_times (T',) s,
    boxes (T', Q, 6) of :func:`box_rows`)}`` for the rows where its modality is present (T' = 1, the
    strongest frame, in eval mode unless :func:`every_frame`)."""
    out: dict[float, tuple[np.ndarray, np.ndarray]] = {}
    for modality, pred in outputs.get("localisation", {}).items():
        if "det_logits" not in pred:
            continue
        frames = batch[modality].shape[1]
        boxes = box_rows(pred["det_logits"], pred["det_boxes"])  # (B_m, T', Q, 6)
        index = pred["frame_index"].cpu().numpy()
        for i, row in enumerate(pred["rows"].tolist()):
            if bool(pred["valid"][i]):
                t0 = float(batch["t0"][row])
                out[round(t0, 6)] = (window_grid(t0, window_s, frames)[index[i]], boxes[i])
    return out
