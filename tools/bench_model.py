"""``weldfusion bench model``: parameter count and per-window latency of the default model.

Builds the default :class:`~weldfusion.fusion.config.ModelConfig` for the demo window layout
(:func:`demo_info`), puts it in eval mode and times, under ``torch.inference_mode`` with
``torch.set_num_threads(--model-threads)``, the median of repeated forwards after a warm-up:
the whole model at batch 1 and 32, and each encoder alone at batch 1 (video with and without
adaptive frame sampling). Inputs are random tensors of the demo shapes with all modalities present.
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import time
from collections.abc import Callable
from functools import partial

import torch
from weldfusion.datasets.info import PARAM_NAMES, DataInfo, ModalityShape
from weldfusion.fusion.build import build_model
from weldfusion.fusion.config import ModelConfig
from weldfusion.recipes.taxonomy import DEFAULT_DEFECTS, DEFAULT_PHASES, MATERIAL_PAIRS

ELECTRICAL_CHANNELS = ("current", "voltage", "wire_feed", "travel_speed", "power", "heat_input", "short_circuit")


def demo_info(window_s: float = 0.4) -> DataInfo:
    """Window layout of the demo data: video 16x64x64 (40 Hz in-window), thermal 8x40x64,
    acoustic 1x6400 at 16 kHz, electrical 7x800 at 2 kHz; 6 phases, 6 defects, 3 pairs."""
    mods = (
        ModalityShape("video", "image", (16, 64, 64), rate=16 / window_s),
        ModalityShape("thermal", "image", (8, 40, 64), rate=8 / window_s),
        ModalityShape("acoustic", "signal", (1, 6400), ("mic",), rate=6400 / window_s),
        ModalityShape("electrical", "signal", (7, 800), ELECTRICAL_CHANNELS, rate=800 / window_s),
    )
    return DataInfo(mods, DEFAULT_PHASES, DEFAULT_DEFECTS, MATERIAL_PAIRS, window_s, PARAM_NAMES)


def random_batch(info: DataInfo, batch: int, device: str = "cpu", seed: int = 0) -> dict:
    """All-present batch of the ``datasets/info.py`` contract filled with seeded noise."""
    g = torch.Generator().manual_seed(seed)
    out = {m.name: torch.randn((batch, *m.shape), generator=g) for m in info.modalities}
    out["present"] = torch.ones(batch, len(info.names), dtype=torch.bool)
    out["params"] = torch.randn(batch, len(info.params), generator=g)
    out["pair"] = torch.randint(0, len(info.pairs), (batch,), generator=g)
    return {k: v.to(device) for k, v in out.items()}


def median_seconds(fns: dict[str, Callable[[], object]], repeats: int, warmup: int,
                   device: str = "cpu") -> dict[str, float]:
    """Median wall time of each ``fn()`` over ``repeats`` rounds after ``warmup`` rounds.

    The functions are called in turn inside each round, so slow drifts of a shared machine's load
    hit all of them alike and their ratios stay meaningful.
    """
    sync = torch.cuda.synchronize if device.startswith("cuda") else (lambda: None)
    for _ in range(warmup):
        for fn in fns.values():
            fn()
    sync()
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            sync()
            times[name].append(time.perf_counter() - t0)
    return {name: statistics.median(ts) for name, ts in times.items()}


def n_params(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model-threads", type=int, default=2, help="torch CPU threads for the model benchmark")


def run(args) -> list[dict]:
    """Rows ``{"name", "value", "unit"}`` (names of DESIGN.md)."""
    device = getattr(args, "device", "cpu")
    quick = getattr(args, "quick", False)
    reps, warm = (5, 2) if quick else (60, 10)
    reps32, warm32 = (2, 1) if quick else (8, 2)
    info = demo_info()
    threads = torch.get_num_threads()
    torch.set_num_threads(getattr(args, "model_threads", 2))
    try:
        torch.manual_seed(0)
        cfg = ModelConfig()
        model = build_model(cfg, info).to(device).eval()
        torch.manual_seed(0)
        no_sampling_cfg = dataclasses.replace(cfg, video=dataclasses.replace(cfg.video, adaptive_sampling=False))
        video_full = build_model(no_sampling_cfg, info).encoders["video"].to(device).eval()
        b1 = random_batch(info, 1, device)
        b32 = random_batch(info, 32, device)
        rows = [{"name": "model.params.fusion", "value": float(n_params(model)), "unit": "count"}]
        rows += [{"name": f"model.params.{name}_encoder", "value": float(n_params(enc)), "unit": "count"}
                 for name, enc in model.encoders.items()]
        calls: dict[str, Callable[[], object]] = {"fusion": lambda: model(b1)}
        for name, enc in model.encoders.items():
            calls[f"{name}_encoder"] = partial(enc, b1[name], b1["params"], b1["pair"])
        calls["video_encoder_no_sampling"] = partial(video_full, b1["video"], b1["params"], b1["pair"])
        with torch.inference_mode():
            ms = {k: 1000.0 * v for k, v in median_seconds(calls, reps, warm, device).items()}
            s32 = median_seconds({"fusion": lambda: model(b32)}, reps32, warm32, device)["fusion"]
        rows += [{"name": f"model.ms_per_window.{k}.b1", "value": v, "unit": "ms"} for k, v in ms.items()]
        rows.append({"name": "model.video_sampling.time_saved", "unit": "%",
                     "value": 100.0 * (1.0 - ms["video_encoder"] / ms["video_encoder_no_sampling"])})
        rows.append({"name": "model.windows_per_s.fusion.b32", "value": 32.0 / s32, "unit": "windows/s"})
    finally:
        torch.set_num_threads(threads)
    return rows
