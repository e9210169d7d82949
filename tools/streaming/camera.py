"""A camera that presents itself to OpenCV (``cv2.VideoCapture``: a device index, a video file, an
RTSP/GStreamer URL) as a live image source for the stream engine.

Frames are read in a background thread, converted to grey ``uint8`` (colour cameras, false-colour
IR cameras presenting as video devices), numbered by a frame counter and timed on the receiver's
clock: frame ``i`` at ``i / rate`` after the first, with ``rate`` the capture's FPS (or the one
given). A file is paced at its frame rate, as if a camera delivered it. The model's window
assembly resizes frames to the size it was trained on, so any resolution works.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Iterator

import cv2
import numpy as np
from weldfusion.recipes.errors import InvalidInput
from weldfusion.tools.streaming.replay import Packet, StreamHeader
from weldfusion.tools.streaming.sources import queued_packets


def _capture_target(spec: str):
    return int(spec) if spec.isdigit() else spec


class CameraSource:
    """Frames of one OpenCV capture as the stream ``modality`` (``video`` by default).

    Args:
        spec: device index (``"0"``), video file, or URL.
        rate: frames per second when the capture does not report one (or to override it).
        max_frames: stop after this many frames (None: until the capture ends).
        idle_s: :meth:`packets` ends when no frame came for this long after the first.
    """

    def __init__(self, spec: str, modality: str = "video", *, rate: float | None = None,
                 max_frames: int | None = None, idle_s: float = 2.0, meta: dict | None = None) -> None:
        self.path = f"camera:{spec}"
        self._cap = cv2.VideoCapture(_capture_target(spec))
        if not self._cap.isOpened():
            raise InvalidInput(f"{spec}: cannot open this camera / video with OpenCV")
        fps = float(self._cap.get(cv2.CAP_PROP_FPS) or 0.0)
        self.rate = float(rate) if rate else fps
        if not (self.rate > 0 and np.isfinite(self.rate)):
            raise InvalidInput(f"{spec}: the capture reports no frame rate; give one (--camera-rate)")
        h = int(self._cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
        w = int(self._cap.get(cv2.CAP_PROP_FRAME_WIDTH))
        if h <= 0 or w <= 0:
            raise InvalidInput(f"{spec}: the capture reports no frame size")
        self._file = not spec.isdigit() and "://" not in spec
        self.modality = modality
        self.names = (modality,)
        self.headers = {modality: StreamHeader(modality, "image", self.rate, 0.0, (h, w), np.dtype(np.uint8), (),
                                               "gray8", 1)}
        self.meta = dict(meta or {})
        self.origin_s = 0.0
        self.max_frames = max_frames
        self.idle_s = idle_s
        self._queue: queue.Queue = queue.Queue()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._wall0 = time.monotonic()

    def _read(self) -> None:
        wall0, i = self._wall0, 0
        try:
            while not self._stop.is_set() and (self.max_frames is None or i < self.max_frames):
                ok, frame = self._cap.read()
                if not ok:
                    break
                if frame.ndim == 3:
                    frame = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
                if self._file:  # a file plays at its frame rate, like a camera
                    wait = wall0 + (i + 1) / self.rate - time.monotonic()
                    if wait > 0:
                        time.sleep(wait)
                t = i / self.rate
                self._queue.put(Packet(self.modality, i, frame[None].astype(np.uint8), np.array([t]),
                                       time.monotonic() - wall0))
                i += 1
        finally:
            self._queue.put(None)

    def packets(self) -> Iterator[Packet]:
        """Frames as packets, in order, until the capture ends (or ``max_frames``)."""
        self._wall0 = time.monotonic()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()
        yield from queued_packets(self._queue, self.idle_s)

    def now(self) -> float:
        """The current time on the camera's clock (0 = its first frame's delivery start)."""
        return time.monotonic() - self._wall0

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5.0)
        self._cap.release()

    def __enter__(self) -> CameraSource:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
