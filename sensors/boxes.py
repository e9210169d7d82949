"""Ground-truth boxes of what the simulated cameras show, frame by frame (``/truth/video_boxes``,
``/truth/thermal_boxes``).

The simulators (:mod:`weldfusion.sensors.video.simulate`, :mod:`weldfusion.sensors.thermal.simulate`)
know where they drew every object; this module turns that into boxes. A box is one row
``[frame, class, x0, y0, x1, y1]`` (float32): the frame index, the class index into
:data:`CLASSES` and the box in pixels — ``x`` along a row (column), ``y`` down the
frame, half-open pixel edges (a box covering pixel (r, c) alone is ``[c, r, c + 1, r + 1]``),
clipped to the frame; objects outside the frame or less than a pixel in size are left out.

Video: where an object fades out (the arc core, the hot wire tip: Gaussian glows) its box is
where it adds at least :data:`VISIBLE_GREY` grey levels to the frame; where it has an edge (the
pool ellipse, the burn-through hole, a pore, the undercut groove) the box is that edge; a spatter
particle's box is its streak over the exposure while it is at least :data:`VISIBLE_GREY` bright.
IR: the molten pool, the cold burn-through hole, the crack line and the hot undercut line, each
where its own contribution to the temperature field passes the thresholds of the IR simulator.
"""

from __future__ import annotations

import numpy as np

#: Box classes, in class-index order (``/truth`` attribute ``box_classes``; the camera sees all
#: but ``crack``, the IR camera ``pool``, ``burn_through``, ``undercut`` and ``crack``).
CLASSES = ("arc", "pool", "wire_tip", "spatter", "pore", "undercut", "burn_through", "crack")
#: A glow or particle counts as visible where it changes the grey level by at least this much.
VISIBLE_GREY = 30.0


def glow_radius(peak: np.ndarray, sigma: np.ndarray | float) -> np.ndarray:
    """Radius (px) where a Gaussian glow of ``peak`` grey levels and width ``sigma`` px still adds
    :data:`VISIBLE_GREY`; 0 where the peak itself is fainter."""
    peak = np.asarray(peak, dtype=np.float64)
    ratio = np.maximum(peak / VISIBLE_GREY, 1.0)
    return np.where(peak > VISIBLE_GREY, np.asarray(sigma) * np.sqrt(2.0 * np.log(ratio)), 0.0)


class BoxList:
    """Boxes collected while a clip of ``shape`` (H, W) frames is drawn."""

    def __init__(self, shape: tuple[int, int]) -> None:
        self.h, self.w = shape
        self._parts: list[np.ndarray] = []

    def add(self, cls: str, frame, x0, y0, x1, y1) -> None:
        """Boxes of class ``cls``: ``frame`` (K,) indices and edges (K,) px (broadcast), clipped to the frame."""
        frame, x0, y0, x1, y1 = np.broadcast_arrays(*(np.asarray(v, dtype=np.float64) for v in (frame, x0, y0, x1, y1)))
        x0, x1 = np.clip(x0, 0, self.w), np.clip(x1, 0, self.w)
        y0, y1 = np.clip(y0, 0, self.h), np.clip(y1, 0, self.h)
        keep = (x1 - x0 >= 1.0) & (y1 - y0 >= 1.0)
        if keep.any():
            k = np.full(int(keep.sum()), CLASSES.index(cls), dtype=np.float64)
            self._parts.append(np.stack([frame[keep], k, x0[keep], y0[keep], x1[keep], y1[keep]], axis=1))

    def add_centred(self, cls: str, frame, cx, cy, half_w, half_h) -> None:
        """Boxes given by centre and half sides (px); zero-size ones are dropped."""
        self.add(cls, frame, np.asarray(cx) - half_w, np.asarray(cy) - half_h, np.asarray(cx) + half_w,
                 np.asarray(cy) + half_h)

    def add_masks(self, cls: str, frame: np.ndarray, masks: np.ndarray) -> None:
        """One box per frame around the ``True`` pixels of ``masks`` (F, H, W) (frames ``frame`` (F,))."""
        rows, cols = masks.any(axis=2), masks.any(axis=1)  # (F, H), (F, W)
        has = rows.any(axis=1)
        if not has.any():
            return
        rows, cols = rows[has], cols[has]
        self.add(cls, np.asarray(frame)[has], cols.argmax(axis=1), rows.argmax(axis=1),
                 masks.shape[2] - cols[:, ::-1].argmax(axis=1), masks.shape[1] - rows[:, ::-1].argmax(axis=1))

    def array(self) -> np.ndarray:
        """All boxes (K, 6) float32, ordered by frame, then class."""
        if not self._parts:
            return np.zeros((0, 6), dtype=np.float32)
        boxes = np.concatenate(self._parts, axis=0)
        order = np.lexsort((boxes[:, 1], boxes[:, 0]))
        return boxes[order].astype(np.float32)
