"""``weldfusion annotate``: a recording's video (and IR side by side) with what the model says and
where it looks, as an mp4 — the picture that shows a person what the model attends to.

Every video frame between ``start_s`` and ``end_s`` is drawn with, from the newest window that has
ended by that frame (windows every ``hop_s``, scored as ``weldfusion predict`` scores them, the
same refinement and debounced alarms as ``weldfusion stream``):

* the spatial attention of the camera's MS-STAN encoder as a heat overlay — its spatial maps
  (Eq. 13–14) weighted by the temporal attention over the window (Eq. 15), so where in the frames
  the window's evidence came from; the same for the IR camera on its frame;
* the refined phase and its probability, the open alarms, the modality weights of the fusion;
* with a box head in the model (``model.localisation.detection``) its predicted boxes (orange,
  labelled with class and score >= ``box_score``) from the kept window frame nearest the drawn frame
  (of the window centred nearest it; none when the frame sampler kept no frame within half a
  window-frame period);
* with ``truth=True`` the simulator's ground-truth boxes of that frame (``/truth/video_boxes``,
  ``/truth/thermal_boxes``: green, labelled) — the boxes the localisation head predicts.

The mp4 plays at ``fps`` frames per second (every stored frame is drawn: a 250 fps camera at 25
fps is 10x slow motion). Written to a temporary file and renamed when complete.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import shutil
from pathlib import Path

import cv2
import numpy as np
import torch
from torch.utils.data import DataLoader, Subset
from tqdm import tqdm
from weldfusion.datasets.reader import Recording
from weldfusion.datasets.windows import WindowDataset
from weldfusion.fusion.localisation import box_modality
from weldfusion.fusion.msstan.model import msstan_cores
from weldfusion.recipes.errors import InvalidInput
from weldfusion.recipes.files import temporary_name
from weldfusion.sensors.boxes import CLASSES
from weldfusion.tools.analysis.attribution import msstan_geometry
from weldfusion.tools.outputs import output_file
from weldfusion.tools.streaming.defaults import HOP_S
from weldfusion.tools.training.loading import load_trained
from weldfusion.tools.training.localisation import every_frame, window_boxes
from weldfusion.tools.welds.timeline import check_scorable, score_recording

#: Panel height (px) each camera is drawn at; the header bar above them.
PANEL_H = 256
HEADER_H = 44
TRUTH_BGR = (60, 220, 60)
PRED_BGR = (40, 160, 255)


def upsample_attention(alpha: np.ndarray, frame_hw: tuple[int, int], patch: int, strides) -> np.ndarray:
    """An attention grid (h, w) as a map on the (H, W) window frame: bilinear between the cell
    centres of the MS-STAN grid (:func:`~.attribution.msstan_geometry`), held at the borders."""
    geom = msstan_geometry(frame_hw, alpha.shape, patch, strides)
    centres_y = geom.origin + np.arange(alpha.shape[0]) * geom.step
    centres_x = geom.origin + np.arange(alpha.shape[1]) * geom.step
    rows = np.stack([np.interp(np.arange(frame_hw[1]), centres_x, r) for r in alpha])  # (h, W)
    return np.stack([np.interp(np.arange(frame_hw[0]), centres_y, c) for c in rows.T], axis=1)  # (H, W)


def window_attention(model, ds, names: tuple[str, ...], batch_size: int = 32, detections: dict | None = None) -> dict:
    """Per window of ``ds`` (a WindowDataset or a Subset of one; keyed by t0 rounded to 1 µs) and
    image modality with an MS-STAN encoder: the temporally weighted spatial attention (h, w),
    summing to 1, on that modality's window frame. With a box head and a ``detections`` dict, that
    dict gets :func:`~weldfusion.tools.training.localisation.window_boxes` of every window."""
    nets = msstan_cores(model)
    out: dict[float, dict[str, np.ndarray]] = {}
    ds_window_s = (ds.dataset if isinstance(ds, Subset) else ds).window_s
    model.eval()
    with torch.inference_mode():
        for batch in DataLoader(ds, batch_size=batch_size, shuffle=False, num_workers=0):
            res = model(batch)
            if detections is not None:
                detections.update(window_boxes(res, batch, ds_window_s))
            present = batch["present"].bool().numpy()
            for b, t0 in enumerate(batch["t0"].numpy()):
                maps = {}
                for m in nets:
                    att = res["attention"].get(m)
                    if att is None or not present[b, names.index(m)]:
                        continue
                    alpha_s = att["spatial"][b].float().numpy()  # (T', h, w)
                    alpha_t = att["temporal"][b].float().numpy()  # (T',)
                    maps[m] = np.tensordot(alpha_t, alpha_s, axes=1)  # (h, w)
                out[round(float(t0), 6)] = maps
    return out


def _predicted_boxes(detections: dict | None, t0s: np.ndarray, window_s: float, t: float,
                     min_score: float) -> np.ndarray | None:
    """Boxes (K, 7) ``[frame, class, x0, y0, x1, y1, score]`` (box in [0, 1] of the frame) predicted
    for the frame at ``t`` s, or None: the kept frame nearest ``t`` of the window centred nearest it,
    if within half a window-frame period."""
    if not detections:
        return None
    j = int(np.argmin(np.abs(t0s + window_s / 2 - t)))
    found = detections.get(round(float(t0s[j]), 6))
    if found is None:
        return None
    times, boxes = found
    k = int(np.argmin(np.abs(times - t)))
    period = float(np.median(np.diff(times))) if len(times) > 1 else window_s
    if abs(times[k] - t) > period / 2 + 1e-9:
        return None
    keep = boxes[k][boxes[k][:, 1] >= min_score]
    return np.concatenate([np.zeros((len(keep), 1), np.float32), keep[:, [0, 2, 3, 4, 5]], keep[:, 1:2]], 1)


def _heat(img_bgr: np.ndarray, amap: np.ndarray | None) -> np.ndarray:
    if amap is None or not np.isfinite(amap).all() or amap.max() <= 0:
        return img_bgr
    norm = np.clip(amap / amap.max(), 0, 1)
    colour = cv2.applyColorMap((norm * 255).astype(np.uint8), cv2.COLORMAP_JET)
    a = (0.55 * norm)[:, :, None]
    return (img_bgr * (1 - a) + colour * a).astype(np.uint8)


def _boxes(img: np.ndarray, boxes: np.ndarray, scale: float, colour=TRUTH_BGR) -> None:
    """Draw (K, 6) ``[frame, class, x0, y0, x1, y1]`` px boxes, a 7th column being a score shown in the label."""
    for row in boxes:
        cls, x0, y0, x1, y1 = row[1:6]
        p0 = (int(round(x0 * scale)), int(round(y0 * scale)))
        p1 = (int(round(x1 * scale)) - 1, int(round(y1 * scale)) - 1)
        label = CLASSES[int(cls)] + (f" {row[6]:.2f}" if len(row) > 6 else "")
        cv2.rectangle(img, p0, p1, colour, 1)
        cv2.putText(img, label, (p0[0], max(p0[1] - 2, 8)), cv2.FONT_HERSHEY_PLAIN, 0.8, colour, 1)


def _panel(frame: np.ndarray, amap: np.ndarray | None, boxes: np.ndarray | None, lo: float, hi: float,
           colormap: int | None, predicted: np.ndarray | None = None) -> np.ndarray:
    """One camera frame (H, W) -> (PANEL_H, W * PANEL_H / H, 3) BGR with its overlays."""
    h, w = frame.shape[:2]
    scale = PANEL_H / h
    size = (max(1, round(w * scale)), PANEL_H)
    if colormap is None:
        grey = np.clip(frame, 0, 255).astype(np.uint8)
        img = cv2.cvtColor(cv2.resize(grey, size, interpolation=cv2.INTER_NEAREST), cv2.COLOR_GRAY2BGR)
    else:
        grey = (np.clip((frame - lo) / max(hi - lo, 1e-6), 0, 1) * 255).astype(np.uint8)
        img = cv2.applyColorMap(cv2.resize(grey, size, interpolation=cv2.INTER_NEAREST), colormap)
    if amap is not None:
        img = _heat(img, cv2.resize(amap.astype(np.float32), size, interpolation=cv2.INTER_LINEAR))
    if boxes is not None and len(boxes):
        _boxes(img, boxes, scale)
    if predicted is not None and len(predicted):
        _boxes(img, predicted, scale, PRED_BGR)
    return img


def annotate(checkpoint, recording, out, *, start_s: float | None = None, end_s: float | None = None,
             hop_s: float = HOP_S, fps: float = 25.0, truth: bool = False, force: bool = False,
             progress: bool = True, box_score: float = 0.5) -> dict:
    """Write the annotated mp4 ``out`` (see the module docstring); returns a summary dict
    (``frames``, ``windows``, ``start_s``, ``end_s``, ``fps``, ``attention`` modalities drawn)."""
    recording, checkpoint = Path(recording), Path(checkpoint)
    if not fps > 0:
        raise InvalidInput(f"--fps must be > 0, got {fps}")
    out = output_file(out, force=force, suffixes=(".mp4",), inputs=[checkpoint, recording])
    trained = load_trained(checkpoint)
    info = trained.info
    with Recording(recording) as rec:
        if "video" not in rec.streams:
            raise InvalidInput(f"{recording}: no video stream to annotate")
        lo_t, hi_t = rec.streams["video"].t_start, rec.streams["video"].t_end
        t_a = lo_t if start_s is None else float(start_s)
        t_b = hi_t if end_s is None else float(end_s)
        if not t_b > t_a or t_a >= hi_t or t_b <= lo_t:
            raise InvalidInput(f"{recording}: --start/--end {t_a:g}-{t_b:g} s hold no video frame "
                               f"(video {lo_t:g}-{hi_t:g} s)")
        video_i0, video_i1 = rec.index_range("video", t_a, t_b)
        frames, times = rec.read_index("video", video_i0, video_i1), rec.times("video", video_i0, video_i1)
        ir, ir_i0 = None, 0
        if "thermal" in rec.streams:  # from a second earlier: the IR frame showing at the clip's start
            ir_i0, ir_i1 = rec.index_range("thermal", t_a - 1.0, t_b)
            ir = rec.read_index("thermal", ir_i0, ir_i1), rec.times("thermal", ir_i0, ir_i1)
        truth_boxes = {}
        if truth:
            group = rec.h5.get("truth")
            for cam in ("video", "thermal"):
                if group is not None and f"{cam}_boxes" in group:
                    truth_boxes[cam] = group[f"{cam}_boxes"][()]
            if not truth_boxes:
                raise InvalidInput(f"{recording}: no ground-truth boxes (/truth/video_boxes) for --truth")
    if len(frames) == 0:
        raise InvalidInput(f"{recording}: no video frame between {t_a:g} and {t_b:g} s")
    tl = score_recording(trained, recording, hop_s=hop_s)
    ds = WindowDataset(recording, dataclasses.replace(trained.recipe.data, hop_s=hop_s), norm=trained.norm)
    check_scorable(trained, ds, str(recording))
    # attention only of the windows a drawn frame shows: those ending from one hop before the clip to its end
    clip = [i for i, (_, t0) in enumerate(ds.window_index) if t_a - hop_s - 1e-9 <= t0 + tl.window_s <= t_b + 1e-9]
    boxed = box_modality(trained.model) == "video"
    detections: dict | None = {} if boxed else None  # boxes of every kept frame of the video's box head
    with every_frame(trained.model, "video") if boxed else contextlib.nullcontext():
        attention = window_attention(trained.model, Subset(ds, clip), info.names, detections=detections)
    ds.close()
    nets = msstan_cores(trained.model)
    shapes = {m.name: m.shape for m in info.modalities}
    ends = tl.t0 + tl.window_s
    ir_lo, ir_hi = (float(np.nanpercentile(ir[0], 1)), float(np.nanpercentile(ir[0], 99.9))) if ir is not None and len(ir[0]) \
        else (0.0, 1.0)
    tmp_dir = temporary_name(out)  # a folder: OpenCV picks the container from the file's own suffix
    tmp_dir.mkdir()
    tmp = tmp_dir / out.name
    writer = None
    try:
        for k, (frame, t) in enumerate(tqdm(list(zip(frames, times, strict=True)), desc="annotate", disable=not progress,
                                            leave=False)):
            j = int(np.searchsorted(ends, t + 1e-9, side="right")) - 1  # newest window ended by this frame
            maps = attention.get(round(float(tl.t0[j]), 6), {}) if j >= 0 else {}
            predicted = _predicted_boxes(detections, tl.t0, tl.window_s, t, box_score)
            if predicted is not None:  # [0, 1] of the frame -> stored-frame px
                predicted[:, [2, 4]] *= frame.shape[1]
                predicted[:, [3, 5]] *= frame.shape[0]
            panels = [_panel(frame, _frame_map(maps.get("video"), nets.get("video"), shapes.get("video"), frame.shape),
                             _frame_boxes(truth_boxes.get("video"), video_i0 + k), 0, 255, None, predicted)]
            if ir is not None and len(ir[0]):
                i = int(np.clip(np.searchsorted(ir[1], t, side="right") - 1, 0, len(ir[0]) - 1))
                irf = ir[0][i]
                panels.append(_panel(irf, _frame_map(maps.get("thermal"), nets.get("thermal"), shapes.get("thermal"),
                                                     irf.shape), _frame_boxes(truth_boxes.get("thermal"), ir_i0 + i),
                                     ir_lo, ir_hi, cv2.COLORMAP_INFERNO))
            body = np.concatenate(panels, axis=1)
            img = np.zeros((HEADER_H + PANEL_H, body.shape[1], 3), np.uint8)
            img[HEADER_H:] = body
            _header(img, tl, j, t, info)
            if writer is None:
                writer = cv2.VideoWriter(str(tmp), cv2.VideoWriter_fourcc(*"mp4v"), float(fps), (img.shape[1], img.shape[0]))
                if not writer.isOpened():
                    raise InvalidInput(f"{out}: OpenCV cannot write mp4 (mp4v) here")
            writer.write(img)
        writer.release()
        writer = None
        os.replace(tmp, out)
    finally:
        if writer is not None:
            writer.release()
        shutil.rmtree(tmp_dir, ignore_errors=True)
    return {"frames": len(frames), "windows": len(tl.t0), "start_s": float(times[0]), "end_s": float(times[-1]),
            "fps": float(fps), "attention": sorted(nets), "truth": sorted(truth_boxes),
            "predicted_boxes": ["video"] if detections else []}


def _frame_map(alpha: np.ndarray | None, net, window_shape, frame_hw) -> np.ndarray | None:
    """The window's attention (h, w) as a map on a stored frame of ``frame_hw``."""
    if alpha is None or net is None or window_shape is None:
        return None
    win_hw = tuple(int(v) for v in window_shape[1:3])
    amap = upsample_attention(alpha, win_hw, net.patch_embed.patch_size, net.stages.strides)  # on the window frame
    return cv2.resize(amap.astype(np.float32), (frame_hw[1], frame_hw[0]), interpolation=cv2.INTER_LINEAR)


def _frame_boxes(boxes: np.ndarray | None, index: int) -> np.ndarray | None:
    if boxes is None:
        return None
    return boxes[boxes[:, 0] == index]


def _header(img: np.ndarray, tl, j: int, t: float, info) -> None:
    font, white = cv2.FONT_HERSHEY_SIMPLEX, (240, 240, 240)
    if j < 0:
        cv2.putText(img, f"t {t:6.2f} s   (first window not complete)", (6, 18), font, 0.5, white, 1)
        return
    p = int(tl.phase_probs[j].argmax())
    open_alarms = [a["defect"] for a in tl.alarms if a["start_s"] <= t + 1e-9 and (a["end_s"] is None or t < a["end_s"])]
    line1 = f"t {t:6.2f} s  {info.phases[p]} {tl.phase_probs[j, p]:.2f}  alarms: {', '.join(open_alarms) or '-'}"
    weights = "  ".join(f"{n} {w:.2f}" for n, w in zip(info.names, tl.weights[j], strict=True))
    cv2.putText(img, line1, (6, 17), font, 0.5, (80, 80, 255) if open_alarms else white, 1)
    cv2.putText(img, f"modality weights: {weights}", (6, 36), font, 0.42, white, 1)
