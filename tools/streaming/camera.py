"""A camera that presents itself to OpenCV (``cv2.VideoCapture``: a device index, a video file, an
RTSP/GStreamer URL) as a live image source for the stream engine.

Frames are read in a background thread, converted to grey ``uint8`` (colour cameras, false-colour
IR cameras presenting as video devices), numbered by a frame counter and timed on the receiver's
clock: frame ``i`` at ``i / rate`` after the first, with ``rate`` the capture's FPS (or the one
given). A file is paced at its frame rate, as if a camera delivered it. The model's window
assembly resizes frames to the size it was trained on, so any resolution works.

A device or stream URL that stops delivering (unplugged, a network camera rebooting) is opened
again with back-off (:data:`RECONNECT_S`) for up to ``reconnect_s``; meanwhile the engine marks
the video missing and goes on with the other sensors, and the frames after it are numbered from
the wall clock, so the outage is a counted gap. A file that ends is the end.
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

#: Reopening a lost camera: first and longest wait (s) between attempts.
RECONNECT_S = (0.2, 1.0)


def _capture_target(spec: str):
    return int(spec) if spec.isdigit() else spec


def _open_capture(spec: str):
    """An OpenCV capture of ``spec`` (tests hand in a stand-in)."""
    return cv2.VideoCapture(_capture_target(spec))


class CameraSource:
    """Frames of one OpenCV capture as the stream ``modality`` (``video`` by default).

    Args:
        spec: device index (``"0"``), video file, or URL.
        rate: frames per second when the capture does not report one (or to override it).
        max_frames: stop after this many frames (None: until the capture ends).
        idle_s: :meth:`packets` ends when no frame came for this long after the first (while
            not reopening a lost camera).
        reconnect_s: how long a device or URL that stops delivering is reopened before it ends.
    """

    def __init__(self, spec: str, modality: str = "video", *, rate: float | None = None,
                 max_frames: int | None = None, idle_s: float = 2.0, meta: dict | None = None,
                 reconnect_s: float = 10.0) -> None:
        self.path = f"camera:{spec}"
        self.spec = spec
        self._cap = _open_capture(spec)
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
        self.reconnect_s = reconnect_s
        self.reconnects = 0
        self._reopening = False
        self._error: BaseException | None = None

    def _reopen(self) -> bool:
        """Open the lost camera again, backing off; False when ``reconnect_s`` passed (or stopped)."""
        self._reopening = True
        try:
            self._cap.release()
            delay, deadline = RECONNECT_S[0], time.monotonic() + self.reconnect_s
            while not self._stop.is_set() and time.monotonic() < deadline:
                cap = _open_capture(self.spec)
                if cap.isOpened():
                    self._cap = cap
                    self.reconnects += 1
                    return True
                cap.release()
                self._stop.wait(delay)
                delay = min(2 * delay, RECONNECT_S[1])
            return False
        finally:
            self._reopening = False

    def _read(self) -> None:
        wall0, i = self._wall0, 0
        h, w = self.headers[self.modality].sample_shape
        try:
            while not self._stop.is_set() and (self.max_frames is None or i < self.max_frames):
                ok, frame = self._cap.read()
                if not ok:
                    if self._file or not self._reopen():
                        break
                    i = max(i, round((time.monotonic() - wall0) * self.rate))  # the outage: a counted gap
                    continue
                if frame.ndim == 3:
                    frame = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
                if frame.shape != (h, w):  # a camera that came back at another resolution
                    frame = cv2.resize(frame, (w, h), interpolation=cv2.INTER_AREA)
                if self._file:  # a file plays at its frame rate, like a camera
                    wait = wall0 + (i + 1) / self.rate - time.monotonic()
                    if wait > 0:
                        time.sleep(wait)
                t = i / self.rate
                self._queue.put(Packet(self.modality, i, frame[None].astype(np.uint8), np.array([t]),
                                       time.monotonic() - wall0))
                i += 1
        except BaseException as err:  # noqa: BLE001 - re-raised in the consumer
            self._error = err
        finally:
            self._queue.put(None)

    def _raise(self) -> None:
        if self._error is not None:
            raise self._error

    def packets(self) -> Iterator[Packet]:
        """Frames as packets, in order, until the capture ends (or ``max_frames``)."""
        self._wall0 = time.monotonic()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()
        yield from queued_packets(self._queue, self.idle_s, failed=self._raise, waiting=lambda: self._reopening)

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
