"""A simulated recording's video frames and ground-truth boxes as a COCO detection data set.

Written next to the other raw files by ``weldfusion raw-export --coco``::

    video_frames/frame_000000.png …   every video frame (8-bit grey PNG, lossless)
    video_boxes.coco.json              COCO "instances" JSON: images, annotations, categories

``images[i]`` is frame ``i`` (``id`` = i + 1, ``file_name`` relative to the JSON, plus the frame's
``frame_index`` and ``time_s`` on the camera's own clock, as the exported ``video.mp4`` has it);
an annotation is one row of ``/truth/video_boxes`` (:mod:`weldfusion.sensors.video.boxes`) with
``bbox = [x, y, width, height]`` in pixels (COCO's top-left convention, half-open pixel edges),
``area`` its box area and ``category_id`` = class index + 1 (COCO ids start at 1). Any COCO tool
opens it (``pycocotools.coco.COCO``; the tests do), and a COCO viewer shows the boxes on the PNGs.
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
from weldfusion.datasets.reader import Recording, StreamInfo
from weldfusion.sensors.raw_source import IngestError, block_length

FRAMES_DIR = "video_frames"
COCO_FILE = "video_boxes.coco.json"


def check_coco(rec: Recording) -> StreamInfo:
    """The video stream of ``rec`` if it can be exported as COCO (8-bit grey frames with
    ``/truth/video_boxes``), else an :class:`IngestError` naming the file — before anything is written."""
    truth = rec.h5.get("truth")
    if truth is None or "video_boxes" not in truth:
        raise IngestError(f"{rec.path}: no ground-truth boxes (/truth/video_boxes; simulated recordings have them) "
                          "for --coco")
    info = rec.streams.get("video")
    if info is None:
        raise IngestError(f"{rec.path}: no video stream for --coco")
    if info.dtype != np.uint8 or len(info.sample_shape) != 2:
        raise IngestError(f"{rec.path}: /streams/video is {info.dtype} {info.sample_shape}; --coco writes 8-bit grey frames")
    return info


def export_coco(rec: Recording, info: StreamInfo, times_s: np.ndarray, out_dir: Path, bar=None) -> str:
    """Write the frames and the COCO JSON of ``rec`` into ``out_dir``; returns the JSON's name.

    Args:
        info: the video stream (:func:`check_coco`); ``times_s`` (N,) its frame times on the camera's own clock.
    """
    truth = rec.h5["truth"]
    boxes = truth["video_boxes"][()]
    classes = [str(c) for c in truth.attrs["video_box_classes"]]
    h, w = info.sample_shape
    frames_dir = out_dir / FRAMES_DIR
    frames_dir.mkdir()
    images = []
    k = block_length(info.sample_shape, 1)
    for i0 in range(0, info.n, k):
        block = rec.read_index(info.name, i0, min(info.n, i0 + k))
        for j, frame in enumerate(block):
            i = i0 + j
            name = f"frame_{i:06d}.png"
            if not cv2.imwrite(str(frames_dir / name), frame):
                raise IngestError(f"{frames_dir / name}: OpenCV cannot write PNG here")
            images.append({"id": i + 1, "file_name": f"{FRAMES_DIR}/{name}", "width": int(w), "height": int(h),
                           "frame_index": i, "time_s": float(times_s[i])})
        if bar is not None:
            bar.update(len(block))
    annotations = [{"id": a + 1, "image_id": int(b[0]) + 1, "category_id": int(b[1]) + 1,
                    "bbox": [float(b[2]), float(b[3]), float(b[4] - b[2]), float(b[5] - b[3])],
                    "area": float((b[4] - b[2]) * (b[5] - b[3])), "iscrowd": 0}
                   for a, b in enumerate(boxes)]
    coco = {"info": {"description": f"{rec.meta.get('recording_id', rec.path.stem)}: simulator ground truth "
                                    "(weldfusion /truth/video_boxes)", "version": "1"},
            "images": images, "annotations": annotations,
            "categories": [{"id": c + 1, "name": name, "supercategory": "weld"} for c, name in enumerate(classes)]}
    (out_dir / COCO_FILE).write_text(json.dumps(coco))
    return COCO_FILE
