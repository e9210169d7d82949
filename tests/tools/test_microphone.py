"""A microphone through sounddevice (PortAudio) as a live source of ``stream`` (issue 12). No sound
device exists on the test machines, so a stand-in for ``sounddevice.InputStream`` calls the
source's callback from its own thread the way PortAudio does: blocks of float32 frames with the
ADC time of their first sample, one overflow that loses 800 samples."""

from __future__ import annotations

import csv
import threading
import time
from types import SimpleNamespace

import numpy as np
import pytest
from _stream_helpers import tiny_recipe, write_checkpoint
from _training_data import write_recording
from weldfusion.recipes.errors import InvalidInput
from weldfusion.tools import stream
from weldfusion.tools.streaming import microphone
from weldfusion.tools.streaming.microphone import MicrophoneSource

pytestmark = pytest.mark.usefixtures("restore_threads", "single_thread")
LOST_AT, LOST = 40, 800  # block index of the overflow, samples the driver dropped there


class FakeInputStream:
    """PortAudio's side: ``seconds`` of a 440 Hz tone at 0.25 FS, paced at ``speed`` x real time."""

    seconds, speed, opened = 1.5, 1.0, []

    def __init__(self, *, device, channels, samplerate, blocksize, dtype, callback):
        assert dtype == "float32" and channels >= 1
        self.rate, self.block, self.callback, self.channels = samplerate, blocksize, callback, channels
        self.device = device
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._stop = threading.Event()
        FakeInputStream.opened.append(self)

    def _run(self):
        n_blocks, t0, sample = int(self.seconds * self.rate / self.block), time.monotonic(), 0
        for b in range(n_blocks):
            if self._stop.is_set():
                return
            if b == LOST_AT:
                sample += LOST
            t = (sample + np.arange(self.block)) / self.rate
            data = np.repeat((0.25 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)[:, None], self.channels, 1)
            self.callback(data, self.block, SimpleNamespace(inputBufferAdcTime=250.0 + sample / self.rate), 0)
            sample += self.block
            wait = t0 + sample / self.rate / self.speed - time.monotonic()
            if wait > 0:
                time.sleep(wait)

    def start(self):
        self._thread.start()

    def stop(self):
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def close(self):
        pass


def test_blocks_become_counted_scaled_packets_with_the_loss_as_a_gap():
    FakeInputStream.speed = 20.0
    with MicrophoneSource("default", 16000.0, scale=40.0, idle_s=0.5, open_stream=FakeInputStream) as mic:
        header = mic.headers["acoustic"]
        assert header.units == "Pa" and header.rate == 16000.0 and header.packet_samples == 160
        packets = list(mic.packets())
    starts = [p.start for p in packets]
    assert starts[:LOST_AT] == [160 * i for i in range(LOST_AT)]
    assert starts[LOST_AT] == 160 * LOST_AT + LOST and mic.dropped == LOST  # the gap is kept, not closed up
    data = np.concatenate([p.data for p in packets])
    times = np.concatenate([p.times for p in packets])
    np.testing.assert_allclose(data, 40.0 * 0.25 * np.sin(2 * np.pi * 440 * times), atol=1e-4)
    assert np.all(np.diff(times) > 0) and times[0] == 0.0


def test_bad_microphone_settings_are_one_line():
    with pytest.raises(InvalidInput, match="--mic-rate"):
        MicrophoneSource("0", 50.0, open_stream=FakeInputStream)
    with pytest.raises(InvalidInput, match="--mic-scale"):
        MicrophoneSource("0", 16000.0, scale=-1.0, open_stream=FakeInputStream)

    def refuses(**kwargs):
        raise ValueError("No input device matching 'usb'")
    with pytest.raises(InvalidInput, match="usb: cannot open this microphone"):
        MicrophoneSource("usb", 16000.0, open_stream=refuses)


def test_stream_from_a_microphone_alone(tmp_path, monkeypatch):
    data = tmp_path / "data"
    data.mkdir()
    write_recording(data / "a.h5", "a", "Al-steel", "GMAW", seed=0)
    ck = write_checkpoint(tmp_path / "ck.pt", tiny_recipe(data))
    FakeInputStream.speed, FakeInputStream.opened = 1.0, []
    monkeypatch.setattr(microphone, "_sounddevice_stream", lambda: (FakeInputStream, RuntimeError))
    out = tmp_path / "live.csv"
    assert stream.cli([str(ck), "--mic", "3", "--mic-rate", "16000", "--mic-scale", "40", "--pair", "Al-steel",
                       "--process", "GMAW", "--out", str(out), "--quiet"]) == 0
    assert FakeInputStream.opened[0].device == 3
    rows = list(csv.DictReader(out.open()))
    assert len(rows) >= 5
    assert all(r["present_acoustic"] == "1" and r["present_video"] == "0" for r in rows)
