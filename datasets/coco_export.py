"""A simulated recording's camera frames and ground-truth boxes as COCO detection data sets.

Written next to the other raw files by ``weldfusion raw-export --coco``::

    video_frames/frame_000000.png …   every video frame (8-bit grey PNG, lossless)
    video_boxes.coco.json              COCO "instances" JSON of /truth/video_boxes on those PNGs
    thermal_boxes.coco.json            the same for /truth/thermal_boxes on the exported
                                       16-bit IR frames (thermal/frame_000000.tiff …)

``images[i]`` is frame ``i`` (``id`` = i + 1, ``file_name`` relative to the JSON, plus the frame's
``frame_index`` and ``time_s`` on the camera's own clock, as the exported files have it); an
annotation is one box row (:mod:`weldfusion.sensors.boxes`) with ``bbox = [x, y, width, height]``
in pixels (COCO's top-left convention, half-open pixel edges), ``area`` its box area and
``category_id`` = class index + 1 (COCO ids start at 1). Any COCO tool opens them
(``pycocotools.coco.COCO``; the tests do), and a COCO viewer shows the boxes on the frames.
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
from weldfusion.datasets.reader import Recording, StreamInfo
from weldfusion.sensors.raw_source import IngestError, block_length

FRAMES_DIR = "video_frames"
#: Where the raw exporter puts each camera's frames (relative to its output folder).
FRAME_FILES = {"video": FRAMES_DIR + "/frame_{:06d}.png", "thermal": "thermal/frame_{:06d}.tiff"}


def check_coco(rec: Recording) -> list[str]:
    """The cameras of ``rec`` whose frames and boxes can be exported (8-bit grey video,
    ``/truth/<camera>_boxes``), else an :class:`IngestError` naming the file — before anything is written."""
    truth = rec.h5.get("truth")
    cameras = [c for c in FRAME_FILES if truth is not None and f"{c}_boxes" in truth and c in rec.streams]
    if not cameras:
        raise IngestError(f"{rec.path}: no ground-truth boxes with their camera stream (/truth/video_boxes, "
                          "/truth/thermal_boxes; simulated recordings have them) for --coco")
    info = rec.streams.get("video")
    if "video" in cameras and (info.dtype != np.uint8 or len(info.sample_shape) != 2):
        raise IngestError(f"{rec.path}: /streams/video is {info.dtype} {info.sample_shape}; --coco writes 8-bit grey frames")
    return cameras


def write_video_frames(rec: Recording, info: StreamInfo, out_dir: Path, bar=None) -> None:
    """Every video frame as ``video_frames/frame_NNNNNN.png`` (the IR frames are exported anyway)."""
    (out_dir / FRAMES_DIR).mkdir()
    k = block_length(info.sample_shape, 1)
    for i0 in range(0, info.n, k):
        block = rec.read_index(info.name, i0, min(info.n, i0 + k))
        for j, frame in enumerate(block):
            path = out_dir / FRAME_FILES["video"].format(i0 + j)
            if not cv2.imwrite(str(path), frame):
                raise IngestError(f"{path}: OpenCV cannot write PNG here")
        if bar is not None:
            bar.update(len(block))


def write_coco(rec: Recording, camera: str, times_s: np.ndarray, out_dir: Path) -> str:
    """``<camera>_boxes.coco.json`` for frames already in ``out_dir``; returns its name.

    Args:
        times_s: (N,) the camera's frame times on its own clock (as exported).
    """
    truth = rec.h5["truth"]
    boxes = truth[f"{camera}_boxes"][()]
    classes = [str(c) for c in truth.attrs["box_classes"]]
    info = rec.streams[camera]
    h, w = info.sample_shape[:2]
    images = [{"id": i + 1, "file_name": FRAME_FILES[camera].format(i), "width": int(w), "height": int(h),
               "frame_index": i, "time_s": float(times_s[i])} for i in range(info.n)]
    annotations = [{"id": a + 1, "image_id": int(b[0]) + 1, "category_id": int(b[1]) + 1,
                    "bbox": [float(b[2]), float(b[3]), float(b[4] - b[2]), float(b[5] - b[3])],
                    "area": float((b[4] - b[2]) * (b[5] - b[3])), "iscrowd": 0}
                   for a, b in enumerate(boxes)]
    coco = {"info": {"description": f"{rec.meta.get('recording_id', rec.path.stem)} {camera}: simulator ground truth "
                                    f"(weldfusion /truth/{camera}_boxes)", "version": "1"},
            "images": images, "annotations": annotations,
            "categories": [{"id": c + 1, "name": name, "supercategory": "weld"} for c, name in enumerate(classes)]}
    name = f"{camera}_boxes.coco.json"
    (out_dir / name).write_text(json.dumps(coco))
    return name
