"""Small arc-like recordings for the ingest / sync / inspect tests (no simulator needed).

The arc switches on and off (a square wave with irregular lengths) and, while burning, short-
circuits for a few ms at random times. Every sensor sees the same events on the recording clock:
power source (current up / voltage down in a short circuit), camera brightness, thermal mean
(instant arc glare + a slow first-order heating), and sound (noise while burning + a pop at
every change of arc power, since arc sound follows dP/dt).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import yaml
from weldfusion.datasets.schema import RecordingMeta
from weldfusion.datasets.writer import RecordingWriter

FINE_RATE = 80_000.0
RATES = {"video": 250.0, "thermal": 50.0, "acoustic": 16_000.0, "electrical": 5_000.0}
OFFSETS = {"video": 0.0137, "thermal": -0.0312, "acoustic": 0.0071, "electrical": 0.0}
META = {"recording_id": "arc_0001", "material_pair": "Al-steel", "material_a": "AA6061", "material_b": "DC04",
        "process": "GMAW"}


def arc_state(duration: float, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(times, arc_on, short_circuit) on a fine grid at FINE_RATE Hz."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(duration * FINE_RATE)) / FINE_RATE
    on = np.zeros(len(t), dtype=bool)
    edge = 0.15
    while edge < duration:
        length = rng.uniform(0.25, 0.6)
        on[(t >= edge) & (t < edge + length)] = True
        edge += length + rng.uniform(0.1, 0.3)
    sc = np.zeros(len(t), dtype=bool)
    for start in rng.uniform(0, duration, int(25 * duration)):
        sc[(t >= start) & (t < start + rng.uniform(0.002, 0.005))] = True
    return t, on, sc & on


def _sample(t_fine: np.ndarray, x: np.ndarray, rate: float, duration: float) -> np.ndarray:
    """Point samples of fine-grid ``x`` at ``i / rate``."""
    n = int(duration * rate)
    idx = np.minimum(np.round(np.arange(n) / rate * FINE_RATE).astype(int), len(x) - 1)
    return x[idx]


def signals(duration: float = 2.0, seed: int = 0, video_shape=(16, 16), thermal_shape=(6, 8)) -> dict:
    """The four streams as arrays on the recording clock (regular, starting at 0)."""
    rng = np.random.default_rng(seed + 1)
    t, on, sc = arc_state(duration, seed)
    arc = on & ~sc
    current = np.where(on, np.where(sc, 320.0, 180.0), 0.0)
    voltage = np.where(on, np.where(sc, 2.0, 24.0), 62.0)
    power = current * voltage
    n_e = int(duration * RATES["electrical"])
    elec = np.stack([
        _sample(t, current, RATES["electrical"], duration) + rng.normal(0, 2.0, n_e),
        _sample(t, voltage, RATES["electrical"], duration) + rng.normal(0, 0.3, n_e),
        _sample(t, np.where(on, 8.0, 0.0), RATES["electrical"], duration),
        np.full(n_e, 6.0),
    ], axis=1).astype(np.float32)
    n_v = int(duration * RATES["video"])
    bright = _sample(t, np.where(arc, 200.0, np.where(on, 60.0, 15.0)), RATES["video"], duration)
    video = np.clip(bright[:, None, None] + rng.normal(0, 6, (n_v, *video_shape)), 0, 255).astype(np.uint8)
    # thermal: instant glare + first-order heating (tau 60 ms), sampled at 50 Hz
    heat = np.zeros(len(t))
    alpha = 1.0 / (0.06 * FINE_RATE)
    drive = on.astype(float)
    acc = 0.0
    for i in range(0, len(t), 80):  # 1 ms steps are enough for a 60 ms lag
        acc += (drive[i] - acc) * alpha * 80
        heat[i : i + 80] = acc
    temp = 25.0 + 900.0 * heat + 300.0 * arc
    n_t = int(duration * RATES["thermal"])
    thermal = (_sample(t, temp, RATES["thermal"], duration)[:, None, None]
               + rng.normal(0, 2.0, (n_t, *thermal_shape))).astype(np.float32)
    n_a = int(duration * RATES["acoustic"])
    dp = np.abs(np.diff(power, prepend=power[0]))
    pop = np.convolve(dp, np.ones(40) / 40, mode="same") / 100.0  # ~0.5 ms pulses
    amp = _sample(t, 0.2 * arc + pop, RATES["acoustic"], duration) + 0.005
    acoustic = (amp * rng.standard_normal(n_a)).astype(np.float32)
    return {"electrical": elec, "video": video, "thermal": thermal, "acoustic": acoustic,
            "on": on, "sc": sc, "t": t}


def arc_edges(on: np.ndarray) -> np.ndarray:
    """Recording times (s) where the arc switches on."""
    return np.flatnonzero(np.diff(on.astype(int)) == 1) / FINE_RATE + 1.0 / FINE_RATE


def write_arc_recording(path: Path, duration: float = 2.0, seed: int = 0, offsets: dict | None = None,
                        streams=("video", "thermal", "acoustic", "electrical"), labels: bool = True) -> dict:
    """Write an arc recording (HDF5) whose streams carry ``sim_clock_offset_s``; returns the signals."""
    offsets = OFFSETS if offsets is None else offsets
    sig = signals(duration, seed)
    with RecordingWriter(path, RecordingMeta(**META, source="test"), overwrite=True) as w:
        for name in streams:
            kwargs = {}
            if name == "electrical":
                kwargs = {"channel_names": ["current", "voltage", "wire_feed", "travel_speed"],
                          "channel_units": ["A", "V", "m/min", "mm/s"]}
            if name == "acoustic":
                kwargs = {"channel_names": ["mic"]}
            units = {"video": "gray8", "thermal": "degC", "acoustic": "Pa", "electrical": "mixed"}[name]
            w.write_stream(name, sig[name], units=units, rate=RATES[name], sensor=f"test {name}",
                           attrs={"sim_clock_offset_s": offsets.get(name, 0.0)}, **kwargs)
        if labels:
            edges = arc_edges(sig["on"])
            phases = [(0.0, float(edges[0]), "idle"), (float(edges[0]), float(edges[0]) + 0.05, "arc_start"),
                      (float(edges[0]) + 0.05, duration, "deposition")]
            w.write_labels(phases=phases, defects=[(0.5, 0.6, "spatter")] if duration >= 0.6 else [])
    return sig


def write_manifest(folder: Path, data: dict, name: str = "recording.yaml") -> Path:
    path = folder / name
    path.write_text(yaml.safe_dump({**META, **data}, sort_keys=False))
    return path


def edit_manifest(raw: Path, fn) -> Path:
    """Apply ``fn`` to the parsed ``recording.yaml`` of ``raw`` and write it back; returns its path."""
    path = raw / "recording.yaml"
    data = yaml.safe_load(path.read_text())
    fn(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path
