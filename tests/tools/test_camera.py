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
