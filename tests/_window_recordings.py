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
