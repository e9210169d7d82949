"""Tiny learnable recordings and a tiny recipe for the train/evaluate/DDP tests (fast on one CPU core).

Each recording has all four streams at low rates; the phase sequence idle -> arc_start ->
deposition -> arc_end is written into the electrical current and the video brightness, and a
``porosity`` defect into acoustic bursts, so that a tiny model can learn something in a few epochs.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import yaml
from weldfusion.datasets import RecordingMeta, RecordingWriter

RATES = {"video": 15.0, "thermal": 10.0, "acoustic": 4000.0, "electrical": 500.0}
PAIRS = (("Al-steel", "GMAW"), ("Ti-Ni", "laser"), ("Cu-SS", "GMAW"))
LEVEL = {"idle": 0.0, "arc_start": 0.5, "deposition": 1.0, "arc_end": 0.3}


def write_recording(path: Path, rec_id: str, pair: str, process: str, seed: int, duration: float = 2.4) -> Path:
    rng = np.random.default_rng(seed)
    cut = np.sort(rng.uniform(0.5, 0.7, 3)) * 0 + np.array([0.4, 0.8, 1.8]) + rng.uniform(-0.05, 0.05, 3)
    phases = [(0.0, cut[0], "idle"), (cut[0], cut[1], "arc_start"), (cut[1], cut[2], "deposition"),
              (cut[2], duration, "arc_end")]
    d0 = rng.uniform(0.9, 1.3)
    defects = [(d0, d0 + 0.4, "porosity")] if seed % 2 == 0 else []

    def level(t: np.ndarray) -> np.ndarray:
        out = np.zeros_like(t)
        for a, b, name in phases:
            out[(t >= a) & (t < b)] = LEVEL[name]
        return out

    def defect(t: np.ndarray) -> np.ndarray:
        out = np.zeros_like(t)
        for a, b, _ in defects:
            out[(t >= a) & (t < b)] = 1.0
        return out

    meta = RecordingMeta(rec_id, pair, pair.split("-")[0], pair.split("-")[1], process, "test")
    with RecordingWriter(path, meta) as w:
        t = np.arange(round(duration * RATES["video"])) / RATES["video"]
        frames = 40 + 150 * level(t)[:, None, None] + rng.normal(0, 10, (len(t), 16, 16))
        w.write_stream("video", np.clip(frames, 0, 255).astype(np.uint8), rate=RATES["video"], units="gray8")
        t = np.arange(round(duration * RATES["thermal"])) / RATES["thermal"]
        heat = 25 + 800 * level(t)[:, None, None] + rng.normal(0, 5, (len(t), 12, 16))
        w.write_stream("thermal", heat.astype(np.float32), rate=RATES["thermal"], units="degC")
        t = np.arange(round(duration * RATES["acoustic"])) / RATES["acoustic"]
        sound = rng.normal(0, 0.1, len(t)) * (1 + level(t)) + 2.0 * defect(t) * rng.normal(0, 1, len(t))
        w.write_stream("acoustic", sound.astype(np.float32), rate=RATES["acoustic"], units="Pa",
                       channel_names=["mic"])
        t = np.arange(round(duration * RATES["electrical"])) / RATES["electrical"]
        lv = level(t)
        elec = np.stack([20 + 180 * lv + rng.normal(0, 2, len(t)), 5 + 15 * lv + rng.normal(0, 0.2, len(t)),
                         np.full(len(t), 6.0), np.full(len(t), 8.0) * (lv > 0)], axis=1)
        w.write_stream("electrical", elec.astype(np.float32), rate=RATES["electrical"], units="mixed",
                       channel_names=["current", "voltage", "wire_feed", "travel_speed"])
        w.write_labels(phases, defects)
    return path


def make_recordings(folder: Path, per_pair: int = 3, seed: int = 0) -> Path:
    """``per_pair`` recordings of each of the three pairs in ``folder``; returns the folder."""
    folder.mkdir(parents=True, exist_ok=True)
    k = 0
    for pair, process in PAIRS:
        for i in range(per_pair):
            write_recording(folder / f"{pair}_{i}.h5", f"{pair}_{i}", pair, process, seed=seed * 1000 + k)
            k += 1
    return folder


TINY_RECIPE = {
    "name": "tiny",
    "seed": 3,
    "data": {
        "window_s": 0.4, "hop_s": 0.2,
        "split": {"train": 0.5, "val": 0.25, "test": 0.25, "seed": 0},
        "modalities": {"video": {"length": 6, "size": [16, 16]}, "thermal": {"length": 4, "size": [12, 16]},
                       "acoustic": {"length": 1600, "channels": ["mic"]}, "electrical": {"length": 200}},
        "norm_max_windows": 64,
    },
    "model": {
        "dim": 16, "fusion_heads": 2, "projection_dim": 8, "modality_dropout": 0.1, "head_dropout": 0.1,
        "video": {"patch_size": 4, "stage_dims": [8, 12], "stage_strides": [1, 2], "temporal_scales": [1, 3],
                  "pair_embed_dim": 4},
        "thermal": {"patch_size": 4, "stage_dims": [8, 12], "stage_strides": [1, 2], "temporal_scales": [1, 3],
                    "pair_embed_dim": 4, "adaptive_sampling": False, "gradient_channel": True},
        "acoustic": {"n_mels": 8, "conv_dim": 8, "layers": 1, "ae_bands": 4},
        "electrical": {"conv_dim": 8, "kernel_sizes": [3, 9], "token_ms": 50.0},
    },
    "train": {"epochs": 3, "batch_size": 8, "lr": 3e-3, "warmup_epochs": 0.5, "patience": 0, "device": "cpu",
              "checkpoint_every_steps": 2},
    "eval": {"batch_size": 16, "latency_windows": 3},
}


def write_recipe(path: Path, data: Path, **sections) -> Path:
    """The tiny recipe with ``data.path`` set and ``sections`` merged in (one level deep)."""
    recipe = {k: (dict(v) if isinstance(v, dict) else v) for k, v in TINY_RECIPE.items()}
    recipe["data"]["path"] = str(data)
    for key, value in sections.items():
        if isinstance(value, dict):
            recipe[key] = {**recipe.get(key, {}), **value}
        else:
            recipe[key] = value
    path.write_text(yaml.safe_dump(recipe, sort_keys=False))
    return path


def train_tiny_run(root: Path, epochs: int = 2) -> tuple[Path, Path]:
    """Recordings under ``root/data`` and a tiny model trained on them in ``root/run``: (run, data)."""
    # lazy: training imports torch; the other helpers here do not need it
    from weldfusion.tools.train import main as train_main

    data = make_recordings(root / "data")
    recipe = write_recipe(root / "tiny.yaml", data, train={"epochs": epochs, "checkpoint_every_steps": 0})
    assert train_main([str(recipe), "--out", str(root / "run"), "--quiet"]) == 0
    return root / "run", data
