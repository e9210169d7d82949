"""A camera through OpenCV ``VideoCapture`` (a video file played at its frame rate stands in for
a device) as a live source of ``stream`` (issue 12)."""

from __future__ import annotations

import csv

import cv2
import numpy as np
import pytest
from _stream_helpers import tiny_recipe, write_checkpoint
from _training_data import write_recording
from weldfusion.tools import stream
from weldfusion.tools.streaming.camera import CameraSource

pytestmark = pytest.mark.usefixtures("restore_threads", "single_thread")


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    """A 2 s, 15 fps grey clip whose brightness steps at 1 s, and a tiny checkpoint."""
    d = tmp_path_factory.mktemp("camera")
    path = d / "cam.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 15.0, (40, 30), isColor=True)
    for i in range(30):
        level = 40 if i < 15 else 200
        writer.write(np.full((30, 40, 3), level, np.uint8))
    writer.release()
    data = d / "data"
    data.mkdir()
    write_recording(data / "a.h5", "a", "Al-steel", "GMAW", seed=0)
    return path, write_checkpoint(d / "ck.pt", tiny_recipe(data))


def test_camera_frames_are_counted_timed_and_grey(clip):
    path, _ = clip
    with CameraSource(str(path)) as cam:
        assert cam.headers["video"].rate == pytest.approx(15.0) and cam.headers["video"].sample_shape == (30, 40)
        packets = list(cam.packets())
    assert [p.start for p in packets] == list(range(30))
    assert all(p.data.shape == (1, 30, 40) and p.data.dtype == np.uint8 for p in packets)
    np.testing.assert_allclose([p.times[0] for p in packets], np.arange(30) / 15.0)
    means = np.array([p.data.mean() for p in packets])
    assert means[:14].max() < 60 and means[16:].min() > 180  # the step, in grey levels
    arrivals = np.array([p.arrival for p in packets])
    assert np.all(np.diff(arrivals) >= 0) and arrivals[-1] >= 1.8  # played at its frame rate


def test_stream_from_a_camera_alone(clip, tmp_path, capsys):
    path, ck = clip
    out = tmp_path / "live.csv"
    assert stream.cli([str(ck), "--camera", str(path), "--pair", "Al-steel", "--process", "GMAW", "--out", str(out),
                       "--quiet"]) == 0
    rows = list(csv.DictReader(out.open()))
    assert len(rows) >= 10
    assert all(r["present_video"] == "1" and r["present_electrical"] == "0" for r in rows)
    assert stream.cli([str(ck), "--camera", str(path)]) == 2
    assert "carries no material_pair; give --pair" in capsys.readouterr().err
    assert stream.cli([str(ck), "--camera", str(tmp_path / "nowhere.avi"), "--pair", "Al-steel",
                       "--process", "GMAW"]) == 2
    assert "cannot open this camera" in capsys.readouterr().err


class _FakeCapture:
    """OpenCV's side for a device that delivers ``frames`` grey frames at ``fps`` and then stops
    (unplugged); ``opened=False`` is an attempt while it is still away."""

    def __init__(self, frames: int, fps: float = 20.0, opened: bool = True, size=(30, 40)):
        self.left, self.fps, self.opened, self.size = frames, fps, opened, size
        self.t_next = None

    def isOpened(self):  # noqa: N802 - OpenCV's name
        return self.opened

    def get(self, prop):
        return {cv2.CAP_PROP_FPS: self.fps, cv2.CAP_PROP_FRAME_HEIGHT: self.size[0],
                cv2.CAP_PROP_FRAME_WIDTH: self.size[1]}.get(prop, 0.0)

    def read(self):
        import time

        if not self.opened or self.left == 0:
            return False, None
        now = time.monotonic()
        self.t_next = now if self.t_next is None else self.t_next
        if self.t_next > now:
            time.sleep(self.t_next - now)
        self.t_next += 1.0 / self.fps
        self.left -= 1
        return True, np.full((*self.size, 3), 120, np.uint8)

    def release(self):
        pass


def test_unplugged_camera_is_reopened_and_the_outage_is_a_counted_gap(monkeypatch):
    from weldfusion.tools.streaming import camera

    # 10 frames, then away for three attempts (0.2 + 0.4 + 0.8 s of back-off), then back at
    # another resolution for 10 more frames, then gone for good
    opens = iter([_FakeCapture(10), _FakeCapture(0, opened=False), _FakeCapture(0, opened=False),
                  _FakeCapture(0, opened=False), _FakeCapture(10, size=(60, 80))] + [_FakeCapture(0, opened=False)] * 50)
    monkeypatch.setattr(camera, "_open_capture", lambda spec: next(opens))
    with CameraSource("0", idle_s=0.5, reconnect_s=2.0) as source:
        packets = list(source.packets())
    counters = [p.start for p in packets]
    assert len(packets) == 20 and source.reconnects == 1
    assert counters[:10] == list(range(10)) and counters[10:] == list(range(counters[10], counters[10] + 10))
    outage = (counters[10] - 10) / 20.0  # s of frames never delivered
    assert 1.2 < outage < 2.5  # the back-off (1.4 s) and the frames' own pacing, on the wall clock
    assert all(p.data.shape == (1, 30, 40) for p in packets)  # resized to the announced frame size
    np.testing.assert_allclose([p.times[0] for p in packets], np.array(counters) / 20.0)


def test_camera_that_never_comes_back_ends_the_source(monkeypatch):
    from weldfusion.tools.streaming import camera

    opens = iter([_FakeCapture(5)] + [_FakeCapture(0, opened=False)] * 100)
    monkeypatch.setattr(camera, "_open_capture", lambda spec: next(opens))
    with CameraSource("0", idle_s=0.3, reconnect_s=0.8) as source:
        packets = list(source.packets())
    assert len(packets) == 5 and source.reconnects == 0


def test_a_failure_in_the_capture_thread_reaches_the_consumer(monkeypatch):
    from weldfusion.tools.streaming import camera

    class Broken(_FakeCapture):
        def read(self):
            raise RuntimeError("driver fault")

    monkeypatch.setattr(camera, "_open_capture", lambda spec: Broken(5))
    with CameraSource("0", idle_s=0.3) as source, pytest.raises(RuntimeError, match="driver fault"):
        list(source.packets())
