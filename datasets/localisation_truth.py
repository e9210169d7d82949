"""Localisation targets of one image window from a recording's ``/truth``: the boxes and the motion
mask of each window frame (issue 15; the training targets of ``fusion/detection/``).

Boxes come from ``/truth/<modality>_boxes`` (K, 6) ``[frame, class, x0, y0, x1, y1]`` px (the
simulator's truth, :mod:`weldfusion.sensors.boxes`). A window frame ``t`` shows stored frame
``rows[t]`` (:func:`~weldfusion.datasets.assembly.image_rows`, the rule of the image window itself);
its targets are up to ``max_boxes`` rows ``[class, cx, cy, w, h]`` with the box in [0, 1] of the
frame (so they hold at any window frame size), padded with class -1. A frame with more objects
keeps the largest boxes: only spatter has that many objects in a frame, and its smallest particles
go first (:attr:`LocalisationTruth.dropped` counts them).

Motion comes from ``/truth/video_motion`` (N, H, ceil(W / 8)) uint8, one packed bit per pixel: the
window gets (T, H', W') uint8 0/1, nearest-resized to the window frame size.
"""

from __future__ import annotations

import numpy as np

#: class index of a padding row in a (T, max_boxes, 5) target array
NO_BOX = -1.0


class LocalisationTruth:
    """The box (and motion) truth of one image stream of a recording, held in memory.

    Args:
        boxes: (K, 6) ``[frame, class, x0, y0, x1, y1]`` px; frame_shape: (H, W) px of the stored frames.
        n_frames: stored frames of the stream; motion: (N, H, ceil(W / 8)) packed bits or None.
    """

    def __init__(self, boxes: np.ndarray, frame_shape: tuple[int, int], n_frames: int,
                 motion: np.ndarray | None = None) -> None:
        boxes = np.asarray(boxes, dtype=np.float32).reshape(-1, 6)
        order = np.argsort(boxes[:, 0], kind="stable")
        self._boxes = boxes[order]
        frames = self._boxes[:, 0].astype(np.int64)
        self._starts = np.searchsorted(frames, np.arange(n_frames + 1))  # boxes of frame f: starts[f]:starts[f+1]
        self.frame_shape = (int(frame_shape[0]), int(frame_shape[1]))
        self._motion = motion
        self.dropped = 0

    @classmethod
    def read(cls, h5, modality: str, with_motion: bool) -> LocalisationTruth | None:
        """The truth of ``modality`` in an open recording (``h5py.File``), None when it has none."""
        truth = h5.get("truth")
        stream = h5.get(f"streams/{modality}/data")
        if truth is None or stream is None or f"{modality}_boxes" not in truth:
            return None
        motion = truth[f"{modality}_motion"][()] if with_motion and f"{modality}_motion" in truth else None
        return cls(truth[f"{modality}_boxes"][()], stream.shape[1:3], stream.shape[0], motion)

    @property
    def has_motion(self) -> bool:
        return self._motion is not None

    def window_boxes(self, rows: np.ndarray, max_boxes: int) -> np.ndarray:
        """(T, max_boxes, 5) float32 ``[class, cx, cy, w, h]`` (box in [0, 1]) of stored frames ``rows`` (T,)."""
        h, w = self.frame_shape
        out = np.zeros((len(rows), max_boxes, 5), dtype=np.float32)
        out[:, :, 0] = NO_BOX
        for t, f in enumerate(np.asarray(rows, dtype=np.int64)):
            if not 0 <= f < len(self._starts) - 1:
                continue
            b = self._boxes[self._starts[f]:self._starts[f + 1]]
            if len(b) > max_boxes:
                area = (b[:, 4] - b[:, 2]) * (b[:, 5] - b[:, 3])
                b = b[np.sort(np.argsort(-area, kind="stable")[:max_boxes])]
                self.dropped += len(self._boxes[self._starts[f]:self._starts[f + 1]]) - max_boxes
            k = len(b)
            out[t, :k, 0] = b[:, 1]
            out[t, :k, 1] = (b[:, 2] + b[:, 4]) / (2 * w)
            out[t, :k, 2] = (b[:, 3] + b[:, 5]) / (2 * h)
            out[t, :k, 3] = (b[:, 4] - b[:, 2]) / w
            out[t, :k, 4] = (b[:, 5] - b[:, 3]) / h
        return out

    def window_motion(self, rows: np.ndarray, size: tuple[int, int]) -> np.ndarray:
        """(T, H', W') uint8 0/1 motion of stored frames ``rows`` (T,), nearest-resized to ``size`` = (H', W')."""
        if self._motion is None:
            raise ValueError("this recording has no motion truth")
        h, w = self.frame_shape
        bits = np.unpackbits(self._motion[np.asarray(rows, dtype=np.int64)], axis=-1, count=w)  # (T, H, W)
        yi = np.minimum((np.arange(size[0]) + 0.5) * h / size[0], h - 1).astype(np.int64)
        xi = np.minimum((np.arange(size[1]) + 0.5) * w / size[1], w - 1).astype(np.int64)
        return bits[:, yi][:, :, xi]
