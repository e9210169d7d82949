"""Tiny hand-made recordings for the windowed-dataset tests (known content, planted events)."""

from __future__ import annotations

import numpy as np
from weldfusion.datasets import RecordingMeta, RecordingWriter
from weldfusion.datasets.config import (
    DataConfig,
    WindowModalities,
)
from weldfusion.sensors.acoustic.window import AcousticWindow
from weldfusion.sensors.electrical.window import ElectricalWindow
from weldfusion.sensors.thermal.window import ThermalWindow
from weldfusion.sensors.video.window import VideoWindow

ALL = ("video", "thermal", "acoustic", "electrical")
# small rates / shapes so that tests stay fast
RATES = {"video": 50.0, "thermal": 10.0, "acoustic": 1000.0, "electrical": 500.0}
SHAPES = {"video": (6, 8), "thermal": (4, 5)}


def tiny_config(**kw) -> DataConfig:
    """Windows of 0.4 s: video 4 frames 6x8, thermal 2 frames 4x5, acoustic 40, electrical 20 samples."""
    mods = WindowModalities(
        video=VideoWindow(length=4, size=(6, 8)),
        thermal=ThermalWindow(length=2, size=(4, 5)),
        acoustic=AcousticWindow(length=40),
        electrical=ElectricalWindow(length=20),
    )
    return DataConfig(modalities=kw.pop("modalities", mods), **kw)


def electrical_data(n: int, rng: np.random.Generator, current=200.0, voltage=20.0, travel=5.0) -> np.ndarray:
    """(n, 4) current, voltage, wire_feed, travel_speed with small noise."""
    base = np.array([current, voltage, 8.0, travel], dtype=np.float32)
    return (base + rng.normal(0, 0.5, (n, 4)) * np.array([1, 0.1, 0.01, 0.01])).astype(np.float32)


def write_tiny(
    path,
    rec_id: str = "r0",
    pair: str = "Al-steel",
    process: str = "GMAW",
    streams=ALL,
    duration: float = 1.2,
    gaps: dict | None = None,
    phases=None,
    defects=(),
    seed: int = 0,
    level: float = 1.0,
):
    """A recording with the given streams, all starting at 0 s, filled with non-zero data scaled by ``level``."""
    rng = np.random.default_rng(seed)
    gaps = gaps or {}
    meta = RecordingMeta(rec_id, pair, "A", "B", process, "test")
    with RecordingWriter(path, meta) as w:
        for name in streams:
            n = round(duration * RATES[name])
            if name in SHAPES:
                if name == "video":
                    data = rng.integers(50, 200, (n, *SHAPES[name]), dtype=np.uint8)
                    units = "gray8"
                else:
                    data = (level * (300 + 50 * rng.random((n, *SHAPES[name])))).astype(np.float32)
                    units = "degC"
            elif name == "acoustic":
                data = (level * (1 + rng.normal(0, 1, n))).astype(np.float32)
                units = "Pa"
            else:
                data = electrical_data(n, rng) * level
                units = "mixed"
            w.write_stream(name, data, rate=RATES[name], units=units, gaps=gaps.get(name))
        w.write_labels(phases if phases is not None else [(0.0, duration, "deposition")], list(defects))
    return path


#: The planted-event recording of the alignment tests (and the streaming parity test).
DURATION = 2.0
EVENTS = {"video": 0.8123, "thermal": 1.0517, "acoustic": 0.9431, "electrical": 1.1287}
STARTS = {"video": 0.0, "thermal": 0.0371, "acoustic": 0.0123, "electrical": 0.0213}


def write_events(path):
    """One event per stream at known times (:data:`EVENTS`), streams starting at :data:`STARTS`,
    at different rates (video 250 Hz, irregular thermal ~50 Hz, mic 16 kHz, DAQ 5 kHz)."""
    rng = np.random.default_rng(3)
    meta = RecordingMeta("events", "Ti-Ni", "Ti6Al4V", "Inconel625", "TIG", "test")
    with RecordingWriter(path, meta) as w:
        # video 250 Hz, 16x12 frames: step onset (dark -> bright) at the event
        t = STARTS["video"] + np.arange(int(DURATION * 250)) / 250.0
        frames = np.where((t >= EVENTS["video"])[:, None, None], 200, 10).astype(np.uint8)
        w.write_stream("video", np.broadcast_to(frames, (len(t), 16, 12)).copy(), rate=250.0,
                       starting_time=STARTS["video"], units="gray8")
        # thermal: irregular timestamps around 50 Hz (jitter +-4 ms), step 300 -> 900 degC
        ts = STARTS["thermal"] + np.cumsum(np.full(int(DURATION * 50) - 2, 0.02) + rng.uniform(-4e-3, 4e-3, 98))
        temp = np.where(ts >= EVENTS["thermal"], 900.0, 300.0).astype(np.float32)
        w.write_stream("thermal", np.broadcast_to(temp[:, None, None], (len(ts), 8, 10)).copy(), timestamps=ts,
                       rate=50.0, units="degC")
        # acoustic 16 kHz: one-sample pulse
        n = int(DURATION * 16000)
        ta = STARTS["acoustic"] + np.arange(n) / 16000.0
        mic = rng.normal(0, 1e-3, n).astype(np.float32)
        mic[np.argmin(np.abs(ta - EVENTS["acoustic"]))] = 1.0
        w.write_stream("acoustic", mic, rate=16000.0, starting_time=STARTS["acoustic"], units="Pa",
                       channel_names=["mic"])
        # electrical 5 kHz: one-sample current pulse on a steady arc
        n = int(DURATION * 5000)
        te = STARTS["electrical"] + np.arange(n) / 5000.0
        el = np.tile(np.array([150.0, 14.0, 6.0, 4.0], np.float32), (n, 1))
        el[np.argmin(np.abs(te - EVENTS["electrical"])), 0] = 650.0
        w.write_stream("electrical", el, rate=5000.0, starting_time=STARTS["electrical"], units="mixed")
        w.write_labels([(0.0, DURATION, "deposition")], [])
    return path
