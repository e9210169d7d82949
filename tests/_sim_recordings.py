"""Tiny simulated recordings (with the simulator's ``/truth``) and a tiny recipe for the ablate/transfer tests.

3 s runs at low rates and small frames (video 16x16 at 30 Hz, thermal 12x16 at 10 Hz, microphone
16 kHz, electrical 500 Hz), no missing sensors or dropouts: about 0.2 s per recording.
"""

from __future__ import annotations

from pathlib import Path

from _training_data import write_recipe
from weldfusion.datasets.simulated import SimConfig, simulate_run, write_run

PAIRS = ("Al-steel", "Ti-Ni", "Cu-SS")
CONFIG = SimConfig(duration_s=(3.0, 3.0), video_rate=30.0, video_shape=(16, 16), video_mm_per_px=1.0,
                   thermal_rate=10.0, thermal_shape=(12, 16), thermal_mm_per_px=1.6, acoustic_rate=16000.0,
                   electrical_rate=500.0, missing_prob=0.0, gap_prob=0.0)


def tiny_sim_recordings(folder: Path, per_pair: int | dict[str, int] = 3, seed: int = 0) -> Path:
    """``per_pair`` simulated recordings of each pair (or ``{pair: count}``) in ``folder``; returns the folder."""
    folder.mkdir(parents=True, exist_ok=True)
    counts = per_pair if isinstance(per_pair, dict) else dict.fromkeys(PAIRS, per_pair)
    for pair, n in counts.items():
        for i in range(n):
            run = simulate_run(pair, None, i, seed, CONFIG)
            write_run(run, folder / f"{run.recording_id}.h5")
    return folder


def tiny_sim_recipe(path: Path, data: Path, **sections) -> Path:
    """The tiny training recipe of ``_training_data`` for these recordings: one epoch, batches of 8."""
    train = {"epochs": 1, "checkpoint_every_steps": 0, **sections.pop("train", {})}
    return write_recipe(path, data, train=train, **sections)
