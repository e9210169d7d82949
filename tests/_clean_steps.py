"""Raw lab files with clean arc-on/off steps, made without the simulator (for the sync precision test).

Three sensors with their own clocks and rates: a DAQ CSV (current/voltage steps), a WAV of arc
noise whose level steps with the arc, and an mp4 whose brightness steps with the arc. The arc
switches at :data:`EDGES` (s, true time) — irregular spacing, so no lag fits like another. Each
file's own clock is true time minus its offset: ``time_offset_s`` = offset recovers true time.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import soundfile as sf
import yaml

#: true times (s) where the arc switches on / off / on / off …
EDGES = (0.83, 2.11, 2.67, 3.94, 4.52, 5.31)
DURATION_S = 6.5


def arc_on(t: np.ndarray) -> np.ndarray:
    """1 while the arc burns at true times ``t``, else 0."""
    return (np.searchsorted(np.asarray(EDGES), t, side="right") % 2).astype(np.float64)


def write_clean_steps(folder: Path, offsets: dict[str, float], rates: dict[str, float], seed: int = 0) -> Path:
    """The three files + ``recording.yaml`` (without offsets) in ``folder``; returns the manifest."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    # DAQ: own clock t_own = t_true - offset; each file starts at its own time 0
    n = int(DURATION_S * rates["electrical"])
    t_own = np.arange(n) / rates["electrical"]
    on = arc_on(t_own + offsets.get("electrical", 0.0))
    current = 5 + 145 * on + rng.normal(0, 1.0, n)
    voltage = 60 - 42 * on + rng.normal(0, 0.2, n)  # open-circuit voltage, then arc voltage
    lines = ["time_s,current,voltage,wire_feed,travel_speed"]
    lines += [f"{t:.7f},{c:.4f},{v:.4f},6.0,{8.0 * o:.1f}" for t, c, v, o in zip(t_own, current, voltage, on)]
    (folder / "daq.csv").write_text("\n".join(lines) + "\n")
    # microphone: broadband arc noise, level steps with the arc (30 dB above the shop background)
    n = int(DURATION_S * rates["acoustic"])
    on = arc_on(np.arange(n) / rates["acoustic"] + offsets["acoustic"])
    sound = rng.normal(0, 1.0, n) * (0.01 + 0.3 * on)
    sf.write(folder / "mic.wav", sound.astype(np.float32), int(rates["acoustic"]), subtype="FLOAT")
    # camera: mean brightness steps with the arc (a frame exposed across an edge is in between);
    # a frame's time stamp is the middle of its exposure (the recording format's convention)
    n = int(DURATION_S * rates["video"])
    sub = 8  # exposure sub-samples per frame
    t = (np.arange(n)[:, None] + (np.arange(sub)[None, :] + 0.5) / sub - 0.5) / rates["video"] + offsets["video"]
    level = 30 + 180 * arc_on(t.ravel()).reshape(n, sub).mean(axis=1)
    writer = cv2.VideoWriter(str(folder / "cam.mp4"), cv2.VideoWriter_fourcc(*"mp4v"), rates["video"], (32, 32),
                             isColor=False)
    for v in level:
        writer.write(np.clip(v + rng.normal(0, 2.0, (32, 32)), 0, 255).astype(np.uint8))
    writer.release()
    manifest = {
        "recording_id": "clean_steps", "material_pair": "Al-steel", "material_a": "AA6061", "material_b": "DC04",
        "process": "GMAW", "source": "clean steps",
        "streams": {
            "electrical": {"path": "daq.csv", "time_column": "time_s",
                           "channels": {"current": "current", "voltage": "voltage", "wire_feed": "wire_feed",
                                        "travel_speed": "travel_speed"}},
            "acoustic": {"path": "mic.wav"},
            "video": {"path": "cam.mp4", "rate": rates["video"]},
        },
    }
    path = folder / "recording.yaml"
    path.write_text(yaml.safe_dump(manifest, sort_keys=False))
    return path
