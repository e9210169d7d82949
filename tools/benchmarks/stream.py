"""``weldfusion bench stream``: can the default model keep up with live sensors?

On simulated recordings (no dropouts, every sensor present) and the default model of
``recipes/fusion_all.yaml`` (untrained weights: the cost does not depend on them; normalisation
statistics from the recording itself), through the real streaming path (replay -> ring buffers ->
window assembly -> model -> Eq. 49 refinement -> alarms):

- ``stream.realtime_factor.default``: hop duration / mean processing time per hop (packet
  ingest + assembly + inference + refinement) at the demo rates (video 250 Hz, thermal 50 Hz,
  microphone 16 kHz, DAQ 5 kHz), replayed as fast as possible, eager PyTorch;
- ``stream.on_time_share.default``: the same replay paced on the wall clock (``--realtime``):
  share of hops whose result was out before the next window was due;
- ``stream.realtime_factor.high_rate``: video 2 kHz and an acoustic-emission sensor at 1 MHz (its
  own ``emission`` stream beside the 16 kHz microphone; AE enters the window as an RMS envelope,
  and the model gains the emission encoder), on a recording as long as the default one (until
  session 15: 3 s, where the first window's pre-roll — 0.4 s of packets counted in its hop —
  weighed 3x as much in the mean);
- ``stream.ms_per_window.eager.b1`` / ``stream.ms_per_window.onnx.b1``: the default model on one
  real window, eager PyTorch vs ONNX Runtime (CPU), median of interleaved repeats;
- ``stream.ms_per_window.torchscript.b1``, ``stream.realtime_factor.default.torchscript`` / ``.high_rate.torchscript``
  (CPU): the same with the frozen TorchScript trace that ``stream`` runs by default;
- extras: ``stream.realtime_factor.default.onnx`` / ``.high_rate.onnx`` (the fast replays with ONNX Runtime),
  ``stream.compute_ms.p99.default``, ``stream.latency_ms.p99.default`` (paced: window end -> result).

Threads: ``--stream-threads`` (default 1) for torch and ONNX Runtime — batch-1 inference gains
little from more threads and a monitor should leave the other cores to acquisition (on a loaded
CPU, 2 threads made the default model's batch-1 forward 10-50x slower through thread contention).
With ``--device cuda`` the eager model runs on the GPU (ONNX Runtime stays on the CPU).
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import default_collate
from weldfusion.datasets.normalize import compute_norm_stats
from weldfusion.datasets.simulated import SimConfig, simulate_run, write_run
from weldfusion.datasets.windows import WindowDataset
from weldfusion.fusion.build import build_model
from weldfusion.recipes.tree import load_recipe
from weldfusion.tools.benchmarks.timing import median_seconds, torch_threads
from weldfusion.tools.streaming.build import build_engine
from weldfusion.tools.streaming.defaults import HOP_S
from weldfusion.tools.streaming.engine import EagerBackend
from weldfusion.tools.streaming.onnx_backend import OnnxBackend
from weldfusion.tools.streaming.onnx_export import export_onnx
from weldfusion.tools.streaming.replay import Replay
from weldfusion.tools.streaming.torchscript_backend import TorchScriptBackend
from weldfusion.tools.training.loading import Trained

HIGH_RATES = {"video_rate": 2000.0, "ae_rate": 1_000_000.0}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--stream-threads", type=int, default=1, help="torch / ONNX Runtime threads for bench stream")
    parser.add_argument("--stream-hop-s", type=float, default=HOP_S, help=f"hop of bench stream (default {HOP_S} s)")
    parser.add_argument("--stream-seconds", type=float, default=None,
                        help="length of the simulated recordings, default and high rate (default 10 s, --quick 4 s)")


def simulate(folder: Path, name: str, seconds: float, **rates) -> Path:
    """One simulated Al-steel GMAW run without dropouts or missing sensors."""
    cfg = SimConfig(missing_prob=0.0, gap_prob=0.0, **rates)
    run = simulate_run("Al-steel", "GMAW", 0, 0, cfg, duration_s=seconds)
    return write_run(run, folder / f"{name}.h5")


def untrained(recipe, path: Path, device: str = "cpu") -> Trained:
    """The recipe's model (seeded, untrained) with the data layout and normalisation of recording ``path``."""
    data = dataclasses.replace(recipe.data, path=str(path), preload=False)
    ds = WindowDataset(path, data)
    norm = compute_norm_stats(ds, 64, progress=False)
    torch.manual_seed(recipe.seed)
    model = build_model(recipe.model, ds.info).to(device).eval()
    recipe = dataclasses.replace(recipe, data=data)
    return Trained(model, recipe, ds.info, norm, [0.5] * len(ds.info.defects), {}, path)


def stream(trained: Trained, path: Path, hop_s: float, realtime: bool = False, backend=None):
    with Replay(path, names=trained.info.names) as replay:
        engine = build_engine(trained, replay, hop_s=hop_s, backend=backend)
        return engine.run(replay.packets(), realtime=realtime)


def run(args) -> list[dict]:
    """Rows ``{"name", "value", "unit"}``."""
    device = getattr(args, "device", "cpu")
    quick = getattr(args, "quick", False)
    threads = getattr(args, "stream_threads", 1)
    hop_s = getattr(args, "stream_hop_s", HOP_S)
    seconds = getattr(args, "stream_seconds", None) or (4.0 if quick else 10.0)
    recipe = load_recipe("fusion_all")
    rows = []
    with torch_threads(threads):
        with tempfile.TemporaryDirectory(prefix="weldfusion-bench-stream-") as tmp:
            folder = Path(tmp)
            path = simulate(folder, "default", seconds)
            trained = untrained(recipe, path, device)
            stream(trained, path, hop_s)  # warm-up (allocations, first-call costs)
            fast = stream(trained, path, hop_s)
            paced = stream(trained, path, hop_s, realtime=True)
            onnx_path = export_onnx(trained.model, trained.info, folder / "default.onnx")
            ort = OnnxBackend(onnx_path, threads=threads)
            fast_onnx = stream(trained, path, hop_s, backend=ort)
            ts = TorchScriptBackend(trained.model, trained.info) if device == "cpu" else None
            fast_ts = stream(trained, path, hop_s, backend=ts) if ts is not None else None
            # one real window, all sensors present: eager vs ONNX Runtime, interleaved
            ds = WindowDataset(path, trained.recipe.data, norm=trained.norm)
            item = default_collate([ds[len(ds) // 2]])
            inputs = {k: item[k].numpy() for k in (*trained.info.names, "present", "params", "pair")}
            eager = EagerBackend(trained.model, trained.info)
            reps, warm = (10, 3) if quick else (60, 10)
            fns = {"eager": lambda: eager.predict(inputs), "onnx": lambda: ort.predict(inputs)}
            if ts is not None:
                fns["torchscript"] = lambda: ts.predict(inputs)
            ms = {k: 1000.0 * v for k, v in median_seconds(fns, reps, warm).items()}

            hr_path = simulate(folder, "high_rate", seconds, **HIGH_RATES)  # as long as the default run: same pre-roll share
            hr_trained = untrained(load_recipe("fusion_all", ["data.modalities.emission={}"]), hr_path, device)
            stream(hr_trained, hr_path, hop_s)
            high = stream(hr_trained, hr_path, hop_s)
            hr_ort = OnnxBackend(export_onnx(hr_trained.model, hr_trained.info, folder / "high_rate.onnx"), threads)
            high_onnx = stream(hr_trained, hr_path, hop_s, backend=hr_ort)
            high_ts = (stream(hr_trained, hr_path, hop_s, backend=TorchScriptBackend(hr_trained.model, hr_trained.info))
                       if device == "cpu" else None)
    d_fast, d_paced, d_high = fast.to_dict(), paced.to_dict(), high.to_dict()
    rows += [
        {"name": "stream.realtime_factor.default", "value": fast.realtime_factor, "unit": "x"},
        {"name": "stream.on_time_share.default", "value": paced.on_time_share, "unit": "share"},
        {"name": "stream.realtime_factor.high_rate", "value": high.realtime_factor, "unit": "x"},
        {"name": "stream.ms_per_window.eager.b1", "value": ms["eager"], "unit": "ms"},
        {"name": "stream.ms_per_window.onnx.b1", "value": ms["onnx"], "unit": "ms"},
        {"name": "stream.realtime_factor.default.onnx", "value": fast_onnx.realtime_factor, "unit": "x"},
        {"name": "stream.realtime_factor.high_rate.onnx", "value": high_onnx.realtime_factor, "unit": "x"},
        *([{"name": "stream.ms_per_window.torchscript.b1", "value": ms["torchscript"], "unit": "ms"},
           {"name": "stream.realtime_factor.default.torchscript", "value": fast_ts.realtime_factor, "unit": "x"},
           {"name": "stream.realtime_factor.high_rate.torchscript", "value": high_ts.realtime_factor, "unit": "x"}]
          if ts is not None else []),
        {"name": "stream.compute_ms.mean.default", "value": d_fast["compute_ms"]["mean"], "unit": "ms"},
        {"name": "stream.compute_ms.p99.default", "value": d_fast["compute_ms"]["p99"], "unit": "ms"},
        {"name": "stream.compute_ms.mean.high_rate", "value": d_high["compute_ms"]["mean"], "unit": "ms"},
        {"name": "stream.latency_ms.p99.default", "value": d_paced["latency_ms"]["p99"], "unit": "ms"},
        {"name": "stream.hops.default", "value": float(paced.hops + paced.skipped), "unit": "count"},
        {"name": "stream.threads", "value": float(threads), "unit": "count"},
        {"name": "stream.hop_s", "value": hop_s, "unit": "s"},
    ]
    if not np.isfinite(rows[0]["value"]):
        raise ValueError("bench stream: no hop was processed")
    return rows
